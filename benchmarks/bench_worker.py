"""The worker as the hook starts it: an idle start's CPU, and a fresh process's throughput.

- idle start: STASO_HOME holds sessions the worker before already exported; the module
  the hook spawns (`spawn.WORKER_MODULE`) is run and its CPU (user + system) compared with
  a bare `python -c pass`, interleaved, medians. Target: <= 3x bare.
- throughput: N recorded Codex sessions (tour_resume, 16 spans each) are journaled; one
  fresh worker process is spawned and timed until the last span is at a receiver on
  127.0.0.1. The baseline is a fresh raw-SDK process (TracerProvider + BatchSpanProcessor +
  OTLPSpanExporter) creating the same spans (names, kinds, attributes, times, nesting),
  timed the same way. Interleaved; ratio = raw time / worker time. Target: >= 0.8x.
  `--against PYTHON` alternates another checkout's wheel venv (e.g. main's, made with
  `python benchmarks/wheel_venv.py` there) into the same rounds: before/after, one load.

Everything runs from a wheel-installed venv (benchmarks/wheel_venv.py).

    .venv/bin/python benchmarks/bench_worker.py [--sessions 100] [--runs 5] [--only idle|throughput]
        [--against OTHER_CHECKOUT/.cache/bench-wheel/bin/python]
    .venv/bin/python benchmarks/bench_worker.py --profile [--sessions 100]

`--profile` runs one fresh worker on the same sessions under cProfile (in the wheel venv,
or `--against`'s) and prints where its time went, by module group and by function, and
how long it sat blocked reading the receiver's answers.
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
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests"))

import wheel_venv  # noqa: E402
from clone_sessions import journal_tours  # noqa: E402
from otlp_receiver import Receiver  # noqa: E402

from staso_otel.hook import spawn  # noqa: E402

IDLE_TARGET = 3.0
THROUGHPUT_TARGET = 0.8

# The baseline process: the spans staso sent, made again with the plain SDK.
RAW_SDK = """
import json, sys
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, set_span_in_context

spans = json.load(open(sys.argv[2]))
provider = TracerProvider(resource=Resource(spans[0]["resource"]))
provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=sys.argv[1])))
tracer = provider.get_tracer("raw")
live = {}
for s in spans:
    parent = live.get(s["parent_span_id"])
    span = tracer.start_span(
        s["name"],
        context=set_span_in_context(parent) if parent is not None else None,
        kind=SpanKind[s["kind"]],
        attributes=s["attributes"],
        start_time=s["start_ns"],
    )
    live[s["span_id"]] = span
for s in spans:
    live[s["span_id"]].end(end_time=s["end_ns"])
provider.shutdown()
"""


def _cpu_ms(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(argv, env=env, cwd=cwd, check=True, timeout=120)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    used = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return used * 1000


def _env(home: Path, endpoint: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STASO_", "OTEL_"))}
    env.update(STASO_HOME=str(home / "staso"), STASO_ENDPOINT=endpoint, HOME=str(home))
    env.update(extra)
    return env


def _record(home: Path, sessions: int, first: int = 0) -> int:
    """Journal `sessions` Codex sessions with the real hook's record(); returns spans due."""
    return journal_tours(home / "staso", home, sessions, first)


def idle(runs: int) -> dict[str, Any]:
    py = wheel_venv.python()
    receiver = Receiver().start()
    with tempfile.TemporaryDirectory(prefix="staso-bench-idle-") as tmp:
        home = Path(tmp)
        expected = _record(home, 20)
        env = _env(home, receiver.endpoint, STASO_WORKER_IDLE_SECONDS="0.1")
        subprocess.run([wheel_venv.script("staso"), "flush"], env=env, cwd=home, check=True)
        assert len(receiver.spans) == expected, "the sessions were not exported"
        bare, start = [], []
        for _ in range(runs):
            bare.append(_cpu_ms([py, "-c", "pass"], env, home))
            start.append(_cpu_ms([py, "-m", spawn.WORKER_MODULE], env, home))
        sent_again = len(receiver.spans) - expected
    receiver.stop()
    return {
        "runs": runs,
        "bare_cpu_ms": round(statistics.median(bare), 1),
        "start_cpu_ms": round(statistics.median(start), 1),
        "ratio": round(statistics.median(start) / statistics.median(bare), 2),
        "sent_again": sent_again,
    }


def _until_all(receiver: Receiver, count: int, start: float, timeout_s: float = 120) -> float:
    deadline = start + timeout_s
    while time.monotonic() < deadline:
        with receiver.lock:
            if len(receiver.spans) >= count:
                return time.monotonic() - start
        time.sleep(0.002)
    raise RuntimeError(f"only {len(receiver.spans)} of {count} spans arrived")


def _ordered(spans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Parents before children, so the raw process can nest them the same way."""
    by_id = {s["span_id"]: s for s in spans}
    out, seen = [], set()

    def visit(s: dict[str, Any]) -> None:
        if s["span_id"] in seen:
            return
        parent = by_id.get(s["parent_span_id"])
        if parent is not None:
            visit(parent)
        seen.add(s["span_id"])
        out.append(s)

    for s in spans:
        visit(s)
    return out


# `--rtt-ms`: the receiver answers each request that much later, as a collector across a
# network does (every receiver of the throughput rounds alike, the raw SDK's too)
RTT_S = 0.0


def _receiver() -> Receiver:
    if not RTT_S:
        return Receiver().start()

    def late(_: int) -> int:
        time.sleep(RTT_S)
        return 200

    return Receiver(mode=late).start()


def _worker_run(py: str, home: Path, sessions: int, first: int, cwd: Path) -> tuple[float, list]:
    """One fresh worker of `py` on `sessions` new sessions: (seconds, spans received)."""
    receiver = _receiver()
    try:
        expected = _record(home, sessions, first)
        env = _env(home, receiver.endpoint, STASO_WORKER_IDLE_SECONDS="0.5")
        start = time.monotonic()
        proc = subprocess.Popen([py, "-m", spawn.WORKER_MODULE], env=env, cwd=cwd)
        took = _until_all(receiver, expected, start)
        proc.wait(timeout=120)
        return took, list(receiver.spans)
    finally:
        receiver.stop()


def throughput(sessions: int, runs: int, against: str | None = None) -> dict[str, Any]:
    py = wheel_venv.python()
    ours, raw, theirs = [], [], []
    with tempfile.TemporaryDirectory(prefix="staso-bench-tp-") as tmp:
        base = Path(tmp)
        for r in range(runs):  # interleaved: load from elsewhere hits both alike
            took, got = _worker_run(py, base / f"w{r}", sessions, 2 * r * sessions, base)
            ours.append(took)
            expected = len(got)
            spans = _ordered(got)
            if against:  # another checkout's worker on as many new sessions
                took, _ = _worker_run(
                    against, base / f"a{r}", sessions, (2 * r + 1) * sessions, base
                )
                theirs.append(took)
            dump = base / f"spans{r}.json"
            dump.write_text(json.dumps(spans))
            receiver = _receiver()
            start = time.monotonic()
            proc = subprocess.Popen([py, "-c", RAW_SDK, receiver.endpoint, str(dump)], cwd=base)
            raw.append(_until_all(receiver, expected, start))
            proc.wait(timeout=120)
            receiver.stop()
    worker_s, raw_s = statistics.median(ours), statistics.median(raw)
    versus = {}
    if against:
        against_s = statistics.median(theirs)
        versus = {
            "against_s": round(against_s, 3),
            "against_ratio": round(raw_s / against_s, 2),
            # per round, paired: this worker's speed over the other's, under the same load
            "speedup": round(
                statistics.median(a / o for a, o in zip(theirs, ours, strict=True)), 2
            ),
            "rounds_s": [
                [round(o, 2), round(a, 2), round(w, 2)]
                for o, a, w in zip(ours, theirs, raw, strict=True)
            ],
        }
    return {
        **versus,
        "sessions": sessions,
        "spans": expected,
        "runs": runs,
        "worker_s": round(worker_s, 3),
        "raw_sdk_s": round(raw_s, 3),
        "worker_spans_per_s": round(expected / worker_s),
        "raw_sdk_spans_per_s": round(expected / raw_s),
        "ratio": round(raw_s / worker_s, 2),
    }


# Where a worker's time goes, by the file a function lives in (first match wins).
PROFILE_GROUPS = (
    ("turn kernel and reducers", ("staso_otel/turns/", "staso_otel/targets/")),
    ("span building", ("staso_otel/span/build.py", "staso_otel/span/model.py")),
    ("redaction", ("staso_otel/span/redact.py", "staso_otel/span/secrets.py")),
    ("spool", ("staso_otel/export/spool.py",)),
    ("send path", ("staso_otel/export/otlp", "staso_otel/export/encode",
                   "staso_otel/export/transport", "opentelemetry/", "google/protobuf",
                   "requests/", "urllib3/", "http/client", "socket.py")),
    ("state", ("staso_otel/record/state.py",)),
    ("journal", ("staso_otel/record/journal.py",)),
    ("worker loop", ("staso_otel/pipeline/",)),
    ("imports", ("<frozen importlib", "importlib/")),
)  # fmt: skip


def profile(sessions: int, top: int = 25, py: str | None = None) -> None:
    """One fresh worker under cProfile: self time by group, then the top functions."""
    import pstats

    py = py or wheel_venv.python()
    receiver = Receiver().start()
    with tempfile.TemporaryDirectory(prefix="staso-bench-prof-") as tmp:
        home = Path(tmp)
        expected = _record(home, sessions)
        env = _env(home, receiver.endpoint, STASO_WORKER_IDLE_SECONDS="0.2")
        out = home / "worker.prof"
        argv = [py, "-m", "cProfile", "-o", str(out), "-m", spawn.WORKER_MODULE]
        subprocess.run(argv, env=env, cwd=home, check=True, timeout=300)
        assert len(receiver.spans) == expected, f"{len(receiver.spans)} of {expected} spans"
        stats = pstats.Stats(str(out))
        if os.environ.get("BENCH_PROFILE_KEEP"):
            stats.dump_stats(os.environ["BENCH_PROFILE_KEEP"])
    receiver.stop()
    table = stats.stats  # type: ignore[attr-defined]

    def own(func: tuple) -> str | None:
        where = f"{func[0]}:{func[2]}"
        return next((g for g, keys in PROFILE_GROUPS if any(k in where for k in keys)), None)

    def shares(func: tuple, depth: int = 0) -> dict[str, float]:
        """A function's group; a builtin's or the stdlib's time goes to its callers'."""
        group = own(func)
        if group is not None or depth > 8 or "sleep" in func[2]:
            return {group or ("idle" if "sleep" in func[2] else "other"): 1.0}
        callers = table[func][4]
        spent = sum(c[2] for c in callers.values()) or 1.0
        out: dict[str, float] = {}
        for caller, c in callers.items():
            for g, f in shares(caller, depth + 1).items():
                out[g] = out.get(g, 0.0) + f * c[2] / spent
        return out or {"other": 1.0}

    groups: dict[str, float] = {}
    for func, (_, _, tt, _, _) in table.items():
        for g, f in shares(func).items():
            groups[g] = groups.get(g, 0.0) + tt * f
    groups.pop("idle", 0.0)  # an idle worker's sleeps before it exits are not work
    busy = sum(groups.values())
    print(f"worker profile, {sessions} sessions / {expected} spans: {busy:.2f} s busy")
    for group, tt in sorted(groups.items(), key=lambda kv: -kv[1]):
        print(f"  {group:28s} {tt:6.3f} s  {tt / busy:5.1%}")
    # what the worker's main thread spent blocked on the receiver's answers
    waited = sum(v[3] for f, v in table.items() if f[2] == "getresponse")
    print(f"  blocked reading answers (http.client getresponse, cumulative): {waited:.3f} s")
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", action="append", choices=["idle", "throughput"])
    parser.add_argument("--profile", action="store_true", help="profile one worker run")
    parser.add_argument(
        "--against", help="throughput: another wheel venv's python (e.g. main's) alternated in"
    )
    parser.add_argument(
        "--rtt-ms",
        type=float,
        default=0.0,
        help="throughput: every receiver answers this much later, as across a network",
    )
    args = parser.parse_args(argv)
    global RTT_S
    RTT_S = args.rtt_ms / 1000
    if args.profile:
        profile(args.sessions, py=args.against)
        return 0
    wanted = args.only or ["idle", "throughput"]
    results: dict[str, Any] = {}
    failed = []
    if "idle" in wanted:
        r = results["idle"] = idle(max(args.runs * 4, 3))
        print(
            f"idle start  {spawn.WORKER_MODULE} with everything already exported: "
            f"{r['start_cpu_ms']} ms CPU vs bare python {r['bare_cpu_ms']} ms ({r['ratio']}x, "
            f"target <= {IDLE_TARGET:g}x); spans sent again {r['sent_again']}"
        )
        failed += ["idle start: spans sent again"] * bool(r["sent_again"])
        failed += [f"idle start {r['ratio']}x bare"] * (r["ratio"] > IDLE_TARGET)
    if "throughput" in wanted:
        r = results["throughput"] = throughput(args.sessions, args.runs, args.against)
        print(
            f"throughput  {r['spans']} spans, spawn -> last span at the receiver: worker "
            f"{r['worker_s']} s ({r['worker_spans_per_s']} spans/s), raw SDK process "
            f"{r['raw_sdk_s']} s ({r['raw_sdk_spans_per_s']} spans/s): {r['ratio']}x the raw "
            f"SDK's throughput (target >= {THROUGHPUT_TARGET:g}x)"
        )
        if args.against:
            print(
                f"            against {args.against}: worker {r['against_s']} s, "
                f"{r['against_ratio']}x the raw SDK's throughput; this one's speed over "
                f"it, median of the rounds: {r['speedup']}x (rounds, s: this, against, raw "
                f"{r['rounds_s']})"
            )
        failed += [f"throughput {r['ratio']}x raw"] * (r["ratio"] < THROUGHPUT_TARGET)
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "worker.json").write_text(json.dumps(results, indent=2))
    for f in failed:
        print(f"MISSED: {f}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
