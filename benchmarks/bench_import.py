"""`staso import` speed and memory: MB of transcript read per second, peak RSS, by size.

Inputs are copies of recorded sessions under new session ids (tests/clone_sessions.py):
Codex (tour_resume, codemode, mcp) and Claude Code (tour_resume, agent with its sub-agent,
fan with two), in turn, until the agents' folders hold `--mb` of transcripts. `staso
import --endpoint <receiver on 127.0.0.1>` runs from a wheel-installed venv
(benchmarks/wheel_venv.py) into a fresh STASO_HOME and sends every span to a real OTLP
receiver. The receiver keeps each request's body and answers at once; the spans are
decoded and counted after the clock stops (a collector runs on another machine: one that
decoded every span in Python on these 2 cores took CPU from the import it measures;
`--receiver decode` measures that way, and `receiver_cpu_s` says what the receiver cost
either way). Measured: its wall time and peak RSS; the same with `--dry-run` (read and
rebuild, no redaction, spool or export); the CPU time of each (MB per CPU second: what
the import costs on a loaded machine, where wall time mostly measures the others' jobs);
and, in the same interleaved runs, a baseline:
the same venv's Python reading the same files and decoding every line with orjson (what
any transcript reader pays at least). Figures are medians.

Then one session with a single long line (`--long-line-mb`, 60 by default: a pasted image's
base64, as Claude Code keeps it in the transcript), imported once with `--dry-run` and once
with a send: peak RSS, which held the line whole several times over before the readers cut
such a string as they read it (jsonl.Pending).

Targets: >= 50 MB/s read by the import at the largest size, peak RSS <= 100 MB at every
size and with the long line, every span the import reported arrived. Exits 1 otherwise.

    .venv/bin/python benchmarks/bench_import.py [--mb 10,100] [--runs 3] [--receiver decode]
        [--long-line-mb 60]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests"))

import wheel_venv  # noqa: E402
from clone_sessions import clone  # noqa: E402
from otlp_receiver import Receiver  # noqa: E402

TARGET_MB_S = 50.0
TARGET_RSS_MB = 100.0
RECORDINGS = [
    ("codex", "tour_resume"),
    ("claude-code", "tour_resume"),
    ("codex", "codemode"),
    ("claude-code", "agent"),
    ("codex", "mcp"),
    ("claude-code", "fan"),
]
# Runs a command, then prints its wall time, its peak RSS (KiB) and its CPU time (user +
# system: what the import costs whatever else the cores are running). The peak is the
# larger of the largest single process's (getrusage) and the sum over the command and its
# children sampled every 20 ms from /proc (a large import rebuilds in a child process:
# both count).
_MEASURE = (
    "import os, resource, subprocess, sys, threading, time\n"
    "def tree_kib(pid):\n"
    "    total, todo = 0, [pid]\n"
    "    while todo:\n"
    "        p = todo.pop()\n"
    "        try:\n"
    "            with open(f'/proc/{p}/status') as fh:\n"
    "                total += next(int(l.split()[1]) for l in fh if l.startswith('VmRSS'))\n"
    "            for task in os.listdir(f'/proc/{p}/task'):\n"
    "                with open(f'/proc/{p}/task/{task}/children') as fh:\n"
    "                    todo += [int(c) for c in fh.read().split()]\n"
    "        except (OSError, StopIteration):\n"
    "            pass\n"
    "    return total\n"
    "t = time.perf_counter()\n"
    "proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE)\n"
    "peak = [0]\n"
    "def sample():\n"
    "    while proc.poll() is None:\n"
    "        peak[0] = max(peak[0], tree_kib(proc.pid))\n"
    "        time.sleep(0.02)\n"
    "watch = threading.Thread(target=sample, daemon=True)\n"
    "watch.start()\n"
    "stdout, stderr = proc.communicate()\n"
    "wall = time.perf_counter() - t\n"
    "watch.join()\n"
    "sys.stderr.buffer.write(stderr)\n"
    "use = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "print(proc.returncode, wall, max(use.ru_maxrss, peak[0]), use.ru_utime + use.ru_stime)\n"
    "print(stdout.decode().strip())\n"
)
# The baseline: every line of every file decoded.
_READ_ALL = (
    "import orjson, os, sys\n"
    "n = 0\n"
    "for root in sys.argv[1:]:\n"
    "    for folder, _, files in os.walk(root):\n"
    "        for name in files:\n"
    "            if name.endswith('.jsonl'):\n"
    "                with open(os.path.join(folder, name), 'rb') as fh:\n"
    "                    for line in fh:\n"
    "                        n += len(line)\n"
    "                        orjson.loads(line)\n"
    "print(n)\n"
)


def build(home: Path, mb: float) -> int:
    """Cloned sessions under `home` until they hold `mb` MB; returns the bytes written."""
    roots = [home / ".codex" / "sessions", home / ".claude" / "projects"]
    n = 0
    size = 0
    while size < mb * 1e6:
        target, run = RECORDINGS[n % len(RECORDINGS)]
        clone(target, run, home, n)
        n += 1
        if n % len(RECORDINGS) == 0 or size == 0:
            size = sum(p.stat().st_size for r in roots for p in r.rglob("*.jsonl"))
    return sum(p.stat().st_size for r in roots for p in r.rglob("*.jsonl"))


def build_long_line(home: Path, mb: float) -> int:
    """One Claude Code session whose first prompt is followed by a user message holding an
    image of `mb` MB (base64, as the transcript keeps it); returns the transcript's size."""
    clone("claude-code", "tour_resume", home, 0)
    (path,) = (home / ".claude" / "projects").rglob("*.jsonl")
    out: list[bytes] = []
    added = False
    for raw in path.read_bytes().splitlines():
        out.append(raw)
        line = json.loads(raw)
        prompt = line.get("message", {}).get("content") if line.get("type") == "user" else None
        if not added and isinstance(prompt, str):
            image = {"type": "base64", "media_type": "image/png", "data": "A" * int(mb * 1e6)}
            parts = [{"type": "text", "text": "and this"}, {"type": "image", "source": image}]
            line["message"] = {"role": "user", "content": parts}
            line["uuid"] = line["uuid"][:-4] + "0bad"
            out.append(json.dumps(line, separators=(",", ":")).encode())
            added = True
    path.write_bytes(b"\n".join(out) + b"\n")
    return path.stat().st_size


def run_import(
    home: Path, staso_home: Path, endpoint: str, *extra: str
) -> tuple[float, float, float, dict]:
    env = {
        **os.environ,
        "HOME": str(home),
        "CODEX_HOME": str(home / ".codex"),
        "CLAUDE_CONFIG_DIR": str(home / ".claude"),
        "STASO_HOME": str(staso_home),
        "STASO_ENDPOINT": endpoint,
    }
    argv = [wheel_venv.python(), "-c", _MEASURE, wheel_venv.script("staso"), "import", "--json"]
    argv += extra
    out = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=1800, check=True)
    head, _, body = out.stdout.partition("\n")
    code, wall, rss, cpu = head.split()
    report = json.loads(body)
    if int(code) != 0:
        raise SystemExit(f"staso import exited {code}: {out.stderr[-2000:]} {report}")
    return float(wall), int(rss) / 1024, float(cpu), report


def run_baseline(home: Path) -> float:
    argv = [wheel_venv.python(), "-c", _MEASURE, wheel_venv.python(), "-c", _READ_ALL]
    argv += [str(home / ".codex"), str(home / ".claude")]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=1800, check=True)
    return float(out.stdout.split()[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", default="10,100", help="transcript MB per size")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--receiver",
        choices=("store", "decode"),
        default="store",
        help="store: decode after the clock stops (default); decode: while receiving",
    )
    parser.add_argument(
        "--long-line-mb", type=float, default=60, help="MB of the one long line (0: none)"
    )
    args = parser.parse_args(argv)
    sizes = [float(x) for x in args.mb.split(",")]
    wheel_venv.venv()
    receiver = Receiver(decode=args.receiver == "decode").start()
    rows = []
    with tempfile.TemporaryDirectory(prefix="staso-bench-import-") as tmp:
        base = Path(tmp)
        homes = {mb: base / f"home-{mb:g}" for mb in sizes}
        written = {mb: build(homes[mb], mb) for mb in sizes}
        walls: dict[float, list[float]] = {mb: [] for mb in sizes}
        peaks: dict[float, list[float]] = {mb: [] for mb in sizes}
        floors: dict[float, list[float]] = {mb: [] for mb in sizes}
        dry: dict[float, list[float]] = {mb: [] for mb in sizes}
        dry_peaks: dict[float, list[float]] = {mb: [] for mb in sizes}
        cpus: dict[float, list[float]] = {mb: [] for mb in sizes}
        receiving: dict[float, list[float]] = {mb: [] for mb in sizes}
        dry_cpus: dict[float, list[float]] = {mb: [] for mb in sizes}
        spans: dict[float, int] = {}
        lost = 0
        k = 0
        for _ in range(args.runs):  # interleaved: drift hits every size and the baseline alike
            for mb in sizes:
                floors[mb].append(run_baseline(homes[mb]))
                wall, rss, cpu, _ = run_import(
                    homes[mb], base / f"dry-{k}", receiver.endpoint, "--dry-run"
                )
                dry[mb].append(wall)
                dry_peaks[mb].append(rss)
                dry_cpus[mb].append(cpu)
                first, before = len(receiver.requests), len(receiver.spans)
                mine = resource.getrusage(resource.RUSAGE_SELF)  # this process: the receiver
                wall, rss, cpu, report = run_import(
                    homes[mb], base / f"staso-{k}", receiver.endpoint
                )
                used = resource.getrusage(resource.RUSAGE_SELF)
                receiving[mb].append(used.ru_utime + used.ru_stime - mine.ru_utime - mine.ru_stime)
                k += 1
                walls[mb].append(wall)
                peaks[mb].append(rss)
                cpus[mb].append(cpu)
                if receiver.decode:
                    arrived = len(receiver.spans) - before
                else:  # after the clock: decoded now, and the bodies let go
                    arrived = len(receiver.decode_kept(first))
                    with receiver.lock:
                        for request in receiver.requests[first:]:
                            request["body"] = b""
                lost += report["spans"] - arrived
                spans[mb] = report["spans"]
                assert report["bytes_read"] >= written[mb] and not report["skipped"], report
        for mb in sizes:
            wall = statistics.median(walls[mb])
            rows.append(
                {
                    "mb": round(written[mb] / 1e6, 1),
                    "import_mb_per_s": round(written[mb] / 1e6 / wall, 1),
                    "read_and_decode_mb_per_s": round(
                        written[mb] / 1e6 / statistics.median(floors[mb]), 1
                    ),
                    "time_ratio_to_read_and_decode": round(wall / statistics.median(floors[mb]), 2),
                    "import_cpu_mb_per_s": round(
                        written[mb] / 1e6 / statistics.median(cpus[mb]), 1
                    ),
                    "peak_rss_mb": round(statistics.median(peaks[mb]), 1),
                    "dry_run_mb_per_s": round(written[mb] / 1e6 / statistics.median(dry[mb]), 1),
                    "dry_run_cpu_mb_per_s": round(
                        written[mb] / 1e6 / statistics.median(dry_cpus[mb]), 1
                    ),
                    "dry_run_peak_rss_mb": round(statistics.median(dry_peaks[mb]), 1),
                    "spans_per_run": spans[mb],
                    "receiver_cpu_s": round(statistics.median(receiving[mb]), 2),
                }
            )
        long_row = None
        if args.long_line_mb:
            home = base / "home-long-line"
            written = build_long_line(home, args.long_line_mb)
            _, dry_rss, _, _ = run_import(home, base / "long-dry", receiver.endpoint, "--dry-run")
            _, rss, _, report = run_import(home, base / "long-sent", receiver.endpoint)
            assert not report["skipped"] and report["spans_left"] == 0, report
            long_row = {
                "long_line_mb": round(written / 1e6, 1),
                "peak_rss_mb": round(rss, 1),
                "dry_run_peak_rss_mb": round(dry_rss, 1),
                "spans": report["spans"],
            }
    receiver.stop()
    load = os.getloadavg()[0]
    for row in rows:
        print(json.dumps({**row, "load_1m": round(load, 2)}))
    if long_row is not None:
        print(json.dumps(long_row))
    failed = []
    if rows[-1]["import_mb_per_s"] < TARGET_MB_S:
        failed.append(f"{rows[-1]['import_mb_per_s']} MB/s < {TARGET_MB_S}")
    for row in rows:
        if row["peak_rss_mb"] > TARGET_RSS_MB:
            failed.append(f"{row['peak_rss_mb']} MB RSS at {row['mb']} MB")
    if long_row is not None:
        peak = max(long_row["peak_rss_mb"], long_row["dry_run_peak_rss_mb"])
        if peak > TARGET_RSS_MB:
            failed.append(f"{peak} MB RSS with one {long_row['long_line_mb']} MB line")
    if lost:
        failed.append(f"{lost} spans reported but not received")
    print("ok" if not failed else "MISSED: " + "; ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
