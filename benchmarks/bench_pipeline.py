"""The export side under load: throughput, Stop-to-collector delay, memory, concurrency.

    .venv/bin/python benchmarks/bench_pipeline.py [--quick] [--only NAME ...]

- throughput: N recorded sessions (Codex tour_resume, 16 spans each) journaled, then the
  worker turns them into spans (spans/s) and exports them to a receiver on 127.0.0.1
  (spans/s), against the SDK's own OTLPSpanExporter sending the same spans in the same
  batches (ratio = our send time / raw send time).
- latency: sessions replayed through the real `python -m staso_otel.hook` processes with
  the real detached worker; the delay from the Stop hook's start (the agent handing the
  event over) to that turn's root span at the receiver, p50 and p95, for Codex and Claude
  Code. Target: p50 <= 0.15 s with the worker running, p95 <= 0.5 s when the Stop hook
  has to start it.
- coldcpu: one finished Codex session journaled, then a cold worker (as the Stop hook
  spawns it) started to send it: its CPU time (user + sys) and the wall time from its
  start to the root span at the receiver, medians. With `--against PYTHON` (another
  checkout's wheel venv, e.g. main's) the same runs alternate with that interpreter and
  the ratios are printed: before/after on one machine under one load.
- memory: peak RSS of one hook process vs `python -c pass`, and of the worker draining
  200 sessions vs a Python that imports the same OpenTelemetry SDK and exporter.
- concurrency: 8 sessions at once, their tool hooks fired in parallel; the hook's median
  wall time against a bare interpreter run by the same crowd (the 2 cores are shared
  either way), and every span accounted for (lost must be 0).

Every figure is a median over interleaved runs or a ratio to a baseline of the same run.
Processes run from a wheel-installed venv (benchmarks/wheel_venv.py), with the current
folder outside the checkout so `-m` cannot pick up the sources.
Exits 1 when a target is missed (latency, a span lost, hook > 2x bare under load).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import functools
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import wheel_venv  # noqa: E402
from clone_sessions import Session, clone  # noqa: E402
from otlp_receiver import Receiver  # noqa: E402

PY = wheel_venv.python()  # hooks, workers and baselines run from a wheel install
RESULTS = ROOT / "benchmarks" / "results"
WARM_P50_S = 0.15  # Stop -> root span, worker running
COLD_P95_S = 0.5  # the Stop hook starts the worker
HOOK_TARGET_RATIO = 2.0


@contextlib.contextmanager
def _scratch(prefix: str) -> Iterator[Path]:
    """A temporary home that is removed only once its detached worker has exited: the
    worker may still be writing there when a measurement ends (bounded wait)."""
    with tempfile.TemporaryDirectory(prefix=prefix, ignore_cleanup_errors=True) as tmp:
        try:
            yield Path(tmp)
        finally:
            lock = Path(tmp) / "staso" / "run" / "worker.lock"
            deadline = time.monotonic() + 30
            while lock.exists() and time.monotonic() < deadline:
                with open(lock, "a") as f:
                    try:
                        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break  # no worker holds it
                    except OSError:
                        time.sleep(0.1)


def _env(home: Path, endpoint: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STASO_", "OTEL_"))}
    env.update(STASO_HOME=str(home / "staso"), STASO_ENDPOINT=endpoint, HOME=str(home))
    env.update(extra)
    return env


BARE = [PY, "-c", "import sys; sys.stdin.buffer.read()"]


@functools.cache
def _hook_argv(target: str) -> list[str]:
    """The hook command exactly as `staso setup` writes it, for the wheel venv's staso."""
    code = "from staso_otel.targets import hookfile; print(hookfile.hook_command({!r}))"
    out = subprocess.run(
        [PY, "-c", code.format(target)], capture_output=True, text=True, check=True, timeout=60
    )
    return shlex.split(out.stdout.strip())


def _hook(target: str, payload: bytes, env: dict[str, str], bare: bool = False) -> float:
    """One real hook process (or, `bare`, an interpreter that only reads stdin); ms."""
    start = time.perf_counter()
    subprocess.run(
        BARE if bare else _hook_argv(target),
        input=payload,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
        timeout=30,
    )
    return (time.perf_counter() - start) * 1000


# -- throughput ----------------------------------------------------------------------------
def throughput(sessions: int) -> dict[str, Any]:
    """In one process, like `staso flush`: journal -> spans -> spool -> OTLP."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    from staso_otel import settings
    from staso_otel.export import otlp
    from staso_otel.export.spool import Spool
    from staso_otel.hook import main as hook_main
    from staso_otel.pipeline import worker

    receiver = Receiver().start()
    with _scratch("staso-bench-tp-") as home:
        old = dict(os.environ)
        os.environ.update(STASO_HOME=str(home / "staso"), STASO_NO_WORKER="1")
        try:
            for n in range(sessions):
                s = clone("codex", "tour_resume", home / f"h{n}", n)
                for _, raw in s.events:
                    hook_main.record("codex", raw, time.time_ns())
            conf = settings.load(overrides={"endpoint": receiver.endpoint})
            t0 = time.perf_counter()
            processed = worker.drain(settings=conf, send=False)
            t1 = time.perf_counter()
            spool = Spool(home / "staso")
            batches = [spool.load(p) for p in spool.batches()]
            groups = [b.spans for b in batches if b]
            t2 = time.perf_counter()
            sent = worker.drain(settings=conf)
            t3 = time.perf_counter()
            ours = len(receiver.spans)
            # the SDK exporter alone, same spans, same batches, same receiver
            resource = otlp.resource_for(conf, "codex")
            readable = [[otlp.to_readable(s, resource) for s in g] for g in groups]
            raw = OTLPSpanExporter(endpoint=receiver.endpoint)
            t4 = time.perf_counter()
            for group in readable:
                raw.export(group)
            t5 = time.perf_counter()
            raw.shutdown()
        finally:
            os.environ.clear()
            os.environ.update(old)
    receiver.stop()
    spans = processed.spans_spooled
    lost = spans - ours
    return {
        "sessions": sessions,
        "spans": spans,
        "requests": len(groups),
        "process_spans_per_s": round(spans / (t1 - t0)),
        "send_spans_per_s": round(sent.spans_sent / (t3 - t2)),
        "raw_exporter_spans_per_s": round(spans / (t5 - t4)),
        "send_ratio_to_raw": round((t3 - t2) / (t5 - t4), 2),
        "lost": lost,
    }


# -- latency -------------------------------------------------------------------------------
def _root_arrival(receiver: Receiver, session_id: str, deadline: float) -> float | None:
    while time.monotonic() < deadline:
        with receiver.lock:
            for span in receiver.spans:
                a = span["attributes"]
                if a.get("session.id") == session_id and span.get("parent_span_id") is None:
                    return time.monotonic()
        time.sleep(0.005)
    return None


def latency(target: str, run: str, turns: int, cold: bool = False) -> dict[str, Any]:
    """`cold`: the worker has exited before Stop (a turn longer than its idle time), so
    the Stop hook starts a new one, which imports the SDK before it can export."""
    receiver = Receiver().start()
    delays: list[float] = []
    missing = 0
    with _scratch("staso-bench-lat-") as home:
        idle = "0.2" if cold else "2"
        env = _env(home, receiver.endpoint, STASO_WORKER_IDLE_SECONDS=idle)
        for n in range(turns):
            s = clone(target, run, home / f"h{n}", n)
            for i, (_, raw) in enumerate(s.events[: s.stop_index + 1]):
                if i == s.stop_index:
                    if cold:
                        time.sleep(1.0)  # the worker's idle time (0.2 s) runs out
                    # from the moment the agent hands Stop over: a running worker may
                    # deliver while the hook process is still exiting
                    stop_sent = time.monotonic()
                _hook(target, raw, env)
            arrived = _root_arrival(receiver, s.session_id, time.monotonic() + 30)
            if arrived is None:
                missing += 1
            else:
                delays.append(arrived - stop_sent)
            for _, raw in s.events[s.stop_index + 1 :]:
                _hook(target, raw, env)
    receiver.stop()
    delays.sort()
    p95 = delays[min(len(delays) - 1, round(0.95 * (len(delays) - 1)))] if delays else None
    return {
        "target": target,
        "worker": "cold" if cold else "running",
        "turns": turns,
        "p50_s": round(statistics.median(delays), 3) if delays else None,
        "p95_s": round(p95, 3) if p95 is not None else None,
        "max_s": round(max(delays), 3) if delays else None,
        "missing": missing,
    }


# -- coldcpu -------------------------------------------------------------------------------
def _cold_worker(python: str, receiver: Receiver, n: int) -> tuple[float, float]:
    """(CPU s, start -> root span s) of one cold worker sending one recorded session."""
    import resource

    with _scratch("staso-bench-cold-") as home:
        s = clone("codex", "hello", home / "h", n)
        env = _env(home, receiver.endpoint, STASO_WORKER_IDLE_SECONDS="0.05")
        record_env = {**env, "STASO_NO_WORKER": "1"}
        for _, raw in s.events:
            _hook("codex", raw, record_env)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.monotonic()
        proc = subprocess.Popen(
            [python, "-m", "staso_otel.pipeline.start"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        arrived = _root_arrival(receiver, s.session_id, start + 30)
        proc.wait(timeout=60)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, (arrived - start) if arrived is not None else float("nan")


def coldcpu(rounds: int, against: str | None) -> dict[str, Any]:
    receiver = Receiver().start()
    runs: dict[str, list[tuple[float, float]]] = {"this": [], "against": []}
    try:
        for n in range(rounds):  # interleaved: both see the same load
            runs["this"].append(_cold_worker(PY, receiver, 2 * n))
            if against:
                runs["against"].append(_cold_worker(against, receiver, 2 * n + 1))
    finally:
        receiver.stop()
    out: dict[str, Any] = {"rounds": rounds}
    for name, got in runs.items():
        if got:
            out[f"{name}_cpu_s"] = round(statistics.median(c for c, _ in got), 3)
            out[f"{name}_first_span_s"] = round(statistics.median(w for _, w in got), 3)
    if against:
        out["cpu_ratio"] = round(out["this_cpu_s"] / out["against_cpu_s"], 2)
        out["first_span_ratio"] = round(out["this_first_span_s"] / out["against_first_span_s"], 2)
    return out


# -- memory --------------------------------------------------------------------------------
_MAXRSS = (
    "import resource, subprocess, sys\n"
    "subprocess.run(sys.argv[1:], input=sys.stdin.buffer.read(), stdout=subprocess.DEVNULL,"
    " stderr=subprocess.DEVNULL)\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
)
_SDK_ONLY = "import opentelemetry.sdk.trace, opentelemetry.exporter.otlp.proto.http.trace_exporter"


def _peak_kb(argv: list[str], payload: bytes, env: dict[str, str]) -> int:
    out = subprocess.run(
        [PY, "-c", _MAXRSS, *argv], input=payload, env=env, capture_output=True, timeout=600
    )
    return int(out.stdout.strip())


def memory(sessions: int, rounds: int) -> dict[str, Any]:
    from staso_otel.hook import main as hook_main

    receiver = Receiver().start()
    with _scratch("staso-bench-mem-") as home:
        env = _env(home, receiver.endpoint, STASO_NO_WORKER="1")
        s = clone("codex", "tour_resume", home / "one", 0)
        payload = s.events[s.stop_index][1]
        bare, hook = [], []
        for _ in range(rounds):
            bare.append(_peak_kb([PY, "-c", "pass"], b"", env))
            hook.append(_peak_kb([PY, "-m", "staso_otel.hook", "codex"], payload, env))
        old = dict(os.environ)
        os.environ.update(STASO_HOME=env["STASO_HOME"], STASO_NO_WORKER="1")
        try:
            for n in range(sessions):
                c = clone("codex", "tour_resume", home / f"h{n}", n + 1)
                for _, raw in c.events:
                    hook_main.record("codex", raw, time.time_ns())
        finally:
            os.environ.clear()
            os.environ.update(old)
        sdk = _peak_kb([PY, "-c", _SDK_ONLY], b"", env)
        drain = _peak_kb([PY, "-m", "staso_cli.entry", "flush"], b"", env)
    receiver.stop()
    return {
        "bare_python_mb": round(statistics.median(bare) / 1024, 1),
        "hook_mb": round(statistics.median(hook) / 1024, 1),
        "hook_ratio": round(statistics.median(hook) / statistics.median(bare), 2),
        "sdk_import_mb": round(sdk / 1024, 1),
        "worker_drain_mb": round(drain / 1024, 1),
        "worker_ratio_to_sdk_import": round(drain / sdk, 2),
        "worker_sessions": sessions,
        "worker_spans_received": len(receiver.spans),
    }


# -- concurrency ---------------------------------------------------------------------------
def _replay_session(
    s: Session, env: dict[str, str], times: list[float], bare: bool = False
) -> None:
    """A session's hooks in order, but each model message's tool events fired at once (as
    Claude Code and Codex run parallel calls' hooks)."""
    pending: list[bytes] = []

    def burst() -> None:
        threads = [
            threading.Thread(target=lambda raw=raw: times.append(_hook(s.target, raw, env, bare)))
            for raw in pending
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        pending.clear()

    for name, raw in s.events:
        if name in ("PreToolUse", "PostToolUse"):
            pending.append(raw)
            continue
        burst()
        times.append(_hook(s.target, raw, env, bare))
    burst()


def _crowd(sessions: list[Session], env: dict[str, str], bare: bool) -> list[float]:
    times: list[float] = []
    threads = [
        threading.Thread(target=_replay_session, args=(s, env, times, bare)) for s in sessions
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return times


def concurrency(parallel: int, rounds: int) -> dict[str, Any]:
    """On 2 cores, 8 sessions' hooks slow each other down whatever they run; the baseline
    is the same crowd running a bare interpreter that reads the payload and exits."""
    receiver = Receiver().start()
    with _scratch("staso-bench-conc-") as home:
        env = _env(home, receiver.endpoint, STASO_WORKER_IDLE_SECONDS="5")
        bare: list[float] = []
        crowd: list[float] = []
        for r in range(rounds):  # interleaved, so load from elsewhere hits both alike
            sessions = [
                clone("codex", "tour_resume", home / f"h{r}-{n}", r * parallel + n)
                for n in range(parallel)
            ]
            bare += _crowd(sessions, env, bare=True)
            crowd += _crowd(sessions, env, bare=False)
        subprocess.run(
            [PY, "-m", "staso_cli.entry", "flush"], env=env, capture_output=True, timeout=300
        )
        expected = 16 * parallel * rounds
        receiver.wait_for(lambda spans: len(spans) >= expected, timeout_s=60)
    receiver.stop()
    got = len({(s["trace_id"], s["span_id"]) for s in receiver.spans})
    return {
        "sessions": parallel,
        "hook_events": len(crowd),
        "bare_median_ms_concurrent": round(statistics.median(bare), 1),
        "hook_median_ms_concurrent": round(statistics.median(crowd), 1),
        "ratio": round(statistics.median(crowd) / statistics.median(bare), 2),
        "spans_expected": expected,
        "spans_received": got,
        "lost": expected - got,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (CI smoke run)")
    parser.add_argument(
        "--only",
        action="append",
        choices=["throughput", "latency", "coldcpu", "memory", "concurrency"],
    )
    parser.add_argument(
        "--against", help="coldcpu: another wheel venv's python to alternate with (before/after)"
    )
    args = parser.parse_args(argv)
    os.chdir(tempfile.gettempdir())  # `python -m` puts the current folder first on sys.path
    quick = args.quick
    wanted = args.only or ["throughput", "latency", "memory", "concurrency"]
    results: dict[str, Any] = {}
    failed: list[str] = []
    if "throughput" in wanted:
        r = results["throughput"] = throughput(5 if quick else 200)
        print(
            f"throughput  {r['spans']} spans in {r['requests']} spool batches: process "
            f"{r['process_spans_per_s']} spans/s, send {r['send_spans_per_s']} spans/s; "
            f"raw OTLPSpanExporter, one request per batch, {r['raw_exporter_spans_per_s']} "
            f"spans/s (send time ratio {r['send_ratio_to_raw']}x); lost {r['lost']}"
        )
        failed += ["throughput: spans lost"] * bool(r["lost"])
    if "latency" in wanted:
        results["latency"] = []
        for target, run, cold in (
            ("codex", "hello", False),
            ("claude-code", "hello", False),
            ("codex", "hello", True),
            ("claude-code", "hello", True),
        ):
            r = latency(target, run, 2 if quick else (10 if cold else 20), cold)
            results["latency"].append(r)
            print(
                f"latency     {target:12} Stop hook start -> root span at the receiver, "
                f"worker {r['worker']}, {r['turns']} "
                f"turns: p50 {r['p50_s']} s, p95 {r['p95_s']} s, max {r['max_s']} s, "
                f"missing {r['missing']} (target "
                + (f"p95 <= {COLD_P95_S} s)" if cold else f"p50 <= {WARM_P50_S} s)")
            )
            if r["missing"] or r["p50_s"] is None:
                failed.append(f"latency {target} ({r['worker']} worker): turns missing")
            elif r["p95_s"] > COLD_P95_S if cold else r["p50_s"] > WARM_P50_S:
                failed.append(f"latency {target} ({r['worker']} worker)")
    if "coldcpu" in wanted:
        r = results["coldcpu"] = coldcpu(3 if quick else 15, args.against)
        line = (
            f"coldcpu     cold worker sending one session: CPU {r['this_cpu_s']} s, start -> "
            f"root span {r['this_first_span_s']} s (medians of {r['rounds']})"
        )
        if args.against:
            line += (
                f"; --against: CPU {r['against_cpu_s']} s, {r['against_first_span_s']} s "
                f"(ratios {r['cpu_ratio']}x, {r['first_span_ratio']}x)"
            )
        print(line)
    if "memory" in wanted:
        r = results["memory"] = memory(5 if quick else 200, 3 if quick else 15)
        print(
            f"memory      hook {r['hook_mb']} MB vs bare python {r['bare_python_mb']} MB "
            f"({r['hook_ratio']}x); worker draining {r['worker_sessions']} sessions "
            f"{r['worker_drain_mb']} MB vs SDK+exporter import {r['sdk_import_mb']} MB "
            f"({r['worker_ratio_to_sdk_import']}x)"
        )
    if "concurrency" in wanted:
        r = results["concurrency"] = concurrency(2 if quick else 8, 1 if quick else 3)
        print(
            f"concurrency {r['sessions']} sessions, {r['hook_events']} hook runs, tool hooks "
            f"in parallel: hook median {r['hook_median_ms_concurrent']} ms vs bare python "
            f"{r['bare_median_ms_concurrent']} ms under the same load ({r['ratio']}x); spans "
            f"{r['spans_received']}/{r['spans_expected']}, lost {r['lost']}"
        )
        failed += ["concurrency: spans lost"] * bool(r["lost"])
        failed += ["concurrency: hook > 2x bare"] * (r["ratio"] > HOOK_TARGET_RATIO)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "pipeline.json").write_text(json.dumps(results, indent=2))
    for f in failed:
        print(f"MISSED: {f}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
