"""Worker memory with a transcript backlog at Stop: 100 MB unread vs 1 MB, both agents.

A recorded session (Codex tour_resume, Claude Code no_skip_perms) whose transcript holds,
ahead of its own lines, `--mb` of older turns no hook reported (hooks installed into a
long session; the worker enters the file at its start). Its hooks are recorded by the
real hook, then `staso flush` (the worker's loop, in-process) turns them into spans and
sends them to a receiver on 127.0.0.1. Everything runs in a wheel-installed venv
(benchmarks/wheel_venv.py). Measured: the flush's peak RSS, and the spans that arrived,
which must be exactly those of the same session with the small backlog (nothing
dropped). Runs are interleaved; figures are medians.

Target: peak RSS <= 80 MB at 100 MB unread; no span missing. Exits 1 otherwise.

    .venv/bin/python benchmarks/bench_backlog.py [--mb 1,100] [--runs 3] [--target NAME]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests"))

import wheel_venv  # noqa: E402
from bench_transcript import filler as codex_backlog  # noqa: E402
from clone_sessions import clone  # noqa: E402
from otlp_receiver import Receiver  # noqa: E402

TARGET_MB = 80.0
RUNS = {"codex": "tour_resume", "claude-code": "no_skip_perms"}
_MAXRSS = (
    "import resource, subprocess, sys\n"
    "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
)


def _iso(ns: int) -> str:
    when = datetime.fromtimestamp(ns / 1e9, timezone.utc)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def claude_backlog(size: int, start_ns: int) -> bytes:
    """Older prompts and their answers (about 6 KB each), ~size bytes."""
    out, total, i = [], 0, 0
    while total < size:
        ts = _iso(start_ns + i * 1_000_000)
        user = {
            "type": "user",
            "promptId": f"old-{i}",
            "timestamp": ts,
            "message": {"role": "user", "content": f"old prompt {i}"},
        }
        answer = {
            "type": "assistant",
            "timestamp": ts,
            "message": {
                "id": f"msg_old_{i}",
                "role": "assistant",
                "content": [{"type": "text", "text": "y" * 6000}],
                "usage": {"input_tokens": 1, "output_tokens": 1},
            },
        }
        for line in (user, answer):
            chunk = json.dumps(line).encode() + b"\n"
            out.append(chunk)
            total += len(chunk)
        i += 1
    return b"".join(out)


def _transcript(home: Path, target: str) -> Path:
    folder = home / (".codex/sessions" if target == "codex" else ".claude/projects")
    return next(p for p in sorted(folder.rglob("*.jsonl")) if "subagents" not in p.parts)


def prepare(base: Path, target: str, mb: float, n: int) -> tuple[dict[str, str], str]:
    """A STASO_HOME with one session's hooks journaled and `mb` of backlog in its
    transcript; returns the environment for the flush and the session id."""
    home = base / f"{target}-{n}"
    session = clone(target, RUNS[target], home, n)
    path = _transcript(home, target)
    data = path.read_bytes()
    first = data.index(b"\n") + 1
    start = 1_700_000_000 * 10**9  # long before the recording: older turns
    if target == "codex":  # session_meta stays the first line
        data = data[:first] + codex_backlog(int(mb * 2**20), start) + data[first:]
    else:
        data = claude_backlog(int(mb * 2**20), start) + data
    path.write_bytes(data)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STASO_", "OTEL_"))}
    env.update(STASO_HOME=str(home / "staso"), HOME=str(home), STASO_NO_WORKER="1")
    py = wheel_venv.python()
    for _, raw in session.events:
        subprocess.run(
            [py, "-m", "staso_otel.hook", target], input=raw, env=env, cwd=base, check=True
        )
    return env, session.session_id


def flush_peak_mb(env: dict[str, str], endpoint: str, cwd: Path) -> float:
    env = {**env, "STASO_ENDPOINT": endpoint}
    argv = [wheel_venv.python(), "-c", _MAXRSS, wheel_venv.script("staso"), "flush"]
    out = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, timeout=900, check=True)
    return int(out.stdout.strip()) / 1024


def bare_peak_mb(cwd: Path) -> float:
    argv = [wheel_venv.python(), "-c", _MAXRSS, wheel_venv.python(), "-c", "pass"]
    out = subprocess.run(argv, cwd=cwd, capture_output=True, timeout=60, check=True)
    return int(out.stdout.strip()) / 1024


def received(receiver: Receiver, session_id: str) -> Counter:
    with receiver.lock:
        spans = [s for s in receiver.spans if s["attributes"].get("session.id") == session_id]
    return Counter(s["name"] for s in spans)


def measure(target: str, sizes: list[float], runs: int) -> list[dict]:
    receiver = Receiver().start()
    peaks: dict[float, list[float]] = {mb: [] for mb in sizes}
    names: dict[float, list[Counter]] = {mb: [] for mb in sizes}
    bare: list[float] = []
    with tempfile.TemporaryDirectory(prefix="staso-bench-backlog-") as tmp:
        base = Path(tmp)
        n = 0
        for _ in range(runs):  # interleaved: drift hits every size alike
            bare.append(bare_peak_mb(base))
            for mb in sizes:
                env, sid = prepare(base, target, mb, n)
                n += 1
                peaks[mb].append(flush_peak_mb(env, receiver.endpoint, base))
                names[mb].append(received(receiver, sid))
    receiver.stop()
    want = names[sizes[0]][0]
    rows = []
    for mb in sizes:
        peak = statistics.median(peaks[mb])
        rows.append(
            {
                "target": target,
                "backlog_mb": mb,
                "peak_rss_mb": round(peak, 1),
                "ratio_to_smallest": round(peak / statistics.median(peaks[sizes[0]]), 2),
                "bare_python_mb": round(statistics.median(bare), 1),
                "spans": sum(want.values()),
                "missing": sum(sum((want - got).values()) for got in names[mb]),
                "extra": sum(sum((got - want).values()) for got in names[mb]),
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", default="1,100", help="backlog sizes in MB; the first is the base")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--target", choices=sorted(RUNS), action="append")
    args = parser.parse_args(argv)
    sizes = [float(x) for x in args.mb.split(",")]
    failed = []
    results = []
    for target in args.target or list(RUNS):
        for r in measure(target, sizes, args.runs):
            results.append(r)
            print(
                f"{target:12} backlog {r['backlog_mb']:6g} MB: flush peak RSS "
                f"{r['peak_rss_mb']:6.1f} MB ({r['ratio_to_smallest']}x the {sizes[0]:g} MB "
                f"run; bare python {r['bare_python_mb']} MB), spans {r['spans']}, missing "
                f"{r['missing']}, extra {r['extra']} (target <= {TARGET_MB:g} MB, none missing)"
            )
            if r["missing"] or r["extra"] or not r["spans"]:
                failed.append(f"{target} {r['backlog_mb']:g} MB: spans differ")
            if r["peak_rss_mb"] > TARGET_MB:
                failed.append(f"{target} {r['backlog_mb']:g} MB: peak RSS {r['peak_rss_mb']} MB")
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "backlog.json").write_text(json.dumps(results, indent=2))
    for f in failed:
        print(f"MISSED: {f}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
