"""Library span throughput: `staso_otel.turn` / `llm_call` / `tool_call` vs raw tracer spans.

One agent turn (a turn, a model call with usage and response, a tool call with arguments
and result; the texts differ from turn to turn, as a real agent's do, and no timed turn
repeats one made before, so redaction scans each new text as it would for a user) made
with the library API, against the same three spans made with a plain OpenTelemetry tracer
carrying exactly the attributes staso's spans end up with: names, kinds, nesting and
attributes are taken from the library's own output for the same turn, so the raw side pays
for none of the building, JSON or redaction. The library is set up as users set it up,
`configure()` making the TracerProvider; the raw side gets a TracerProvider of its own with
the same resource.
Both sides go through the same exporter pipeline, in two runs:

- `memory`: a SimpleSpanProcessor and an InMemorySpanExporter on each side, so the time is
  span making alone (the stricter ratio; the target is judged on it);
- `receiver`: a BatchSpanProcessor and the SDK's OTLPSpanExporter on each side, sending to
  the same OTLP receiver on 127.0.0.1 (tests/otlp_receiver.py); each block ends with a
  force_flush inside the timing, and every span of both sides must arrive.

Blocks of turns alternate between the two sides; figures are medians of the blocks, in
spans per CPU second of the measuring process (its exporter thread included), so the other
work of a shared machine counts for neither side; the wall-clock ratio is printed beside
it, and the load average. Runs in a wheel-installed venv (benchmarks/wheel_venv.py).
Target: >= 0.7x raw. Exits 1 when missed.

`--against REV [REV ...]` asks instead whether a change made the library faster: the
in-memory ratio of this checkout's `staso_otel` and of each REV's (from `git archive`),
each source tree on PYTHONPATH over the same wheel venv, the trees alternated round after
round (`--rounds`) so a slow minute slows them all; it prints each tree's median.

    .venv/bin/python benchmarks/bench_api.py [--turns 300] [--blocks 11]
    .venv/bin/python benchmarks/bench_api.py --against HEAD~3 [--rounds 10]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

import wheel_venv  # noqa: E402
from otlp_receiver import Receiver  # noqa: E402

TARGET = 0.7
SPANS_PER_TURN = 3

# One agent turn made with the library (i: the turn's number; texts differ by turn). Also
# bench_pair.py's `library` workload.
LIBRARY_TURN = r"""
import staso_otel

def library_turn(i):
    prompt = f"fix the failing test {i} in parser.py"
    with staso_otel.turn(prompt, session_id=f"s-{i // 50}") as t:
        with staso_otel.llm_call(
            "gpt-5", provider="openai", input_messages=[{"role": "user", "content": prompt}],
        ) as call:
            call.set_usage(812 + i, 64, cache_read_tokens=512)
            call.set_response(f"I will run the tests of case {i} first.", response_id=f"resp_{i}")
        command = {"command": f"pytest -q tests/test_parser.py -k c{i}"}
        with staso_otel.tool_call("shell", command) as tool:
            tool.set_result(f"1 failed, {i} passed in 0.4s")
        t.set_response(f"Fixed: the parser now accepts empty input {i}.")

"""

# Runs in the wheel venv. argv: mode, turns, blocks, endpoint, plan file (written by the
# memory run, read by the receiver run). Prints one JSON line.
MEASURE = (
    LIBRARY_TURN
    + r"""
import json, statistics, sys, time
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

mode, turns, blocks, endpoint, plan_path = sys.argv[1:6]
turns, blocks = int(turns), int(blocks)

if mode == "memory":
    keep = InMemorySpanExporter()
    lib_provider = staso_otel.configure(exporter=keep)
    raw_keep = InMemorySpanExporter()
    raw_processor = SimpleSpanProcessor(raw_keep)
    # the library's own output for every turn: what the raw spans carry
    plan = []
    for i in range(turns):
        library_turn(i)
        spans = keep.get_finished_spans()
        keep.clear()
        root = next(s for s in spans if s.parent is None)
        children = [s for s in spans if s.parent is not None]
        plan.append([(s.name, s.kind.value, dict(s.attributes)) for s in (root, *children)])
    with open(plan_path, "w") as f:
        json.dump(plan, f)
else:
    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from staso_otel import settings as settings_mod

    lib_provider = staso_otel.configure(endpoint=endpoint, api_key="bench")
    settings = settings_mod.load(overrides={"endpoint": endpoint, "api_key": "bench"})
    raw_processor = BatchSpanProcessor(
        OTLPSpanExporter(
            endpoint=endpoint,
            headers=settings.export_headers(),
            compression=Compression(settings.compression),
        )
    )
    with open(plan_path) as f:
        plan = json.load(f)
plan = [
    [(name, SpanKind(kind), {k: tuple(v) if isinstance(v, list) else v for k, v in attrs.items()})
     for name, kind, attrs in turn]
    for turn in plan
]
assert all(len(p) == 3 for p in plan), plan[0]
raw_provider = TracerProvider(resource=lib_provider.resource)
raw_provider.add_span_processor(raw_processor)
tracer = raw_provider.get_tracer("raw")

def raw_turn(i):
    (name, kind, attrs), *children = plan[i % turns]
    with tracer.start_as_current_span(name, kind=kind, attributes=attrs):
        for cname, ckind, cattrs in children:
            with tracer.start_as_current_span(cname, kind=ckind, attributes=cattrs):
                pass

made = turns  # the plan's turns came first: every timed turn's texts are new to the memo

def block(fn, provider):
    global made
    wall, cpu = time.perf_counter(), time.process_time()
    for i in range(made, made + turns):
        fn(i)
    made += turns
    provider.force_flush()
    elapsed = time.perf_counter() - wall, time.process_time() - cpu
    if mode == "memory":
        keep.clear()
        raw_keep.clear()
    return elapsed

for fn, provider in ((library_turn, lib_provider), (raw_turn, raw_provider)):  # warm up
    block(fn, provider)
lib, raw = [], []
for _ in range(blocks):
    lib.append(block(library_turn, lib_provider))
    raw.append(block(raw_turn, raw_provider))
lib_provider.shutdown()
raw_provider.shutdown()
cpu = lambda blocks: turns / statistics.median(b[1] for b in blocks)
wall = lambda blocks: turns / statistics.median(b[0] for b in blocks)
print(json.dumps({
    "mode": mode,
    "library_turns_per_s": cpu(lib),
    "raw_turns_per_s": cpu(raw),
    "library_turns_per_s_wall": wall(lib),
    "raw_turns_per_s_wall": wall(raw),
}))
"""
)


def measure(mode: str, turns: int, blocks: int, plan: Path, source: Path | None = None) -> dict:
    """One run in the wheel venv; `source`: a directory holding a `staso_otel` to measure
    instead of the installed one."""
    receiver = Receiver().start() if mode == "receiver" else None
    endpoint = receiver.endpoint if receiver else "http://127.0.0.1:9/v1/traces"
    try:
        with tempfile.TemporaryDirectory(prefix="staso-bench-api-") as tmp:
            env = {"STASO_HOME": str(Path(tmp) / "staso"), "HOME": tmp, "PATH": "/usr/bin:/bin"}
            if source is not None:
                env["PYTHONPATH"] = str(source)
            out = subprocess.run(
                [
                    wheel_venv.python(),
                    "-c",
                    MEASURE,
                    mode,
                    str(turns),
                    str(blocks),
                    endpoint,
                    str(plan),
                ],
                env=env,
                cwd=tmp,
                capture_output=True,
                text=True,
                timeout=900,
            )
        if out.returncode != 0:
            raise RuntimeError(out.stderr[-3000:])
        result = json.loads(out.stdout.splitlines()[-1])
        if receiver is not None:
            with receiver.lock:
                scopes = [s["scope"] for s in receiver.spans]
            sent = turns * SPANS_PER_TURN * (blocks + 1)  # the warm-up block and the timed ones
            got = {"library": scopes.count("staso"), "raw": scopes.count("raw")}
            if got != {"library": sent, "raw": sent}:
                raise RuntimeError(f"spans lost at the receiver: got {got}, sent {sent} each")
            result["received"] = got
    finally:
        if receiver is not None:
            receiver.stop()
    return result


def _source_tree(rev: str, into: Path) -> Path:
    """`staso_otel` as it was at `rev`, unpacked under `into`."""
    tree = into / rev.replace("/", "_")
    tree.mkdir()
    archive = subprocess.run(
        ["git", "archive", "--format=tar", rev, "staso_otel"],
        cwd=HERE.parent,
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(tree, filter="data")
    return tree


def compare(revs: list[str], rounds: int, turns: int, blocks: int) -> int:
    """The in-memory ratio of this checkout's staso_otel and each rev's, alternated."""
    with tempfile.TemporaryDirectory(prefix="staso-bench-api-trees-") as scratch:
        trees = {"checkout": HERE.parent}
        for rev in revs:
            trees[rev] = _source_tree(rev, Path(scratch))
        ratios: dict[str, list[float]] = {name: [] for name in trees}
        plan = Path(scratch) / "plan.json"
        for i in range(rounds):
            order = list(trees.items())
            for name, tree in order if i % 2 == 0 else order[::-1]:
                r = measure("memory", turns, blocks, plan, source=tree)
                ratios[name].append(r["library_turns_per_s"] / r["raw_turns_per_s"])
    for name, values in ratios.items():
        spread = " ".join(f"{v:.2f}" for v in sorted(values))
        print(f"{name:12}  median {statistics.median(values):.3f}x  ({spread})")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=300)
    parser.add_argument("--blocks", type=int, default=11)
    parser.add_argument("--mode", choices=("memory", "receiver", "both"), default="both")
    parser.add_argument(
        "--against", nargs="+", metavar="REV", help="compare with these revisions' staso_otel"
    )
    parser.add_argument("--rounds", type=int, default=10, help="with --against")
    args = parser.parse_args(argv)
    if args.against:
        return compare(args.against, args.rounds, args.turns, args.blocks)
    modes = ("memory", "receiver") if args.mode == "both" else ("memory", args.mode)
    results = {}
    missed = False
    with tempfile.TemporaryDirectory(prefix="staso-bench-api-plan-") as scratch:
        plan = Path(scratch) / "plan.json"
        for mode in dict.fromkeys(modes):  # memory first: it writes the raw side's plan
            load = os.getloadavg()[0]
            try:
                r = measure(mode, args.turns, args.blocks, plan)
            except RuntimeError as e:
                print(f"{mode}: {e}", file=sys.stderr)
                return 2
            ratio = r["library_turns_per_s"] / r["raw_turns_per_s"]
            wall_ratio = r["library_turns_per_s_wall"] / r["raw_turns_per_s_wall"]
            r.update(ratio=ratio, wall_ratio=wall_ratio, load_1m=load)
            results[mode] = r
            lib = r["library_turns_per_s"] * SPANS_PER_TURN
            raw = r["raw_turns_per_s"] * SPANS_PER_TURN
            print(
                f"{mode:8}  library turn + llm_call + tool_call: {lib:,.0f} spans/s vs raw tracer "
                f"spans with the same attributes {raw:,.0f} spans/s per CPU second: {ratio:.2f}x "
                f"(target >= {TARGET:g}x; wall clock {wall_ratio:.2f}x; load {load:.1f})"
            )
            if mode == "memory" and ratio < TARGET:
                missed = True
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "api.json").write_text(json.dumps(results, indent=2))
    if missed:
        print(f"MISSED: library spans {results['memory']['ratio']:.3f}x raw (in-memory exporter)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
