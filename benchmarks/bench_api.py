"""Library span throughput: `staso_otel.turn` / `llm_call` / `tool_call` vs raw tracer spans.

One agent turn (a turn, a model call with usage and response, a tool call with arguments
and result) made with the library API, against the same three spans made with a plain
OpenTelemetry tracer carrying exactly the attributes staso's spans end up with (names,
kinds, nesting, attributes taken from the library's own output). Both go through the same
TracerProvider and a SimpleSpanProcessor with an exporter that drops them, so only span
making is timed. Blocks of turns alternate between the two; medians of the blocks.
Runs in a wheel-installed venv (benchmarks/wheel_venv.py). Target: >= 0.7x raw.

    .venv/bin/python benchmarks/bench_api.py [--turns 500] [--blocks 11]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import wheel_venv  # noqa: E402

TARGET = 0.7

MEASURE = r"""
import json, statistics, sys, time
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import SpanKind

import staso_otel

turns, blocks = int(sys.argv[1]), int(sys.argv[2])

class Keep(SpanExporter):
    def __init__(self):
        self.spans = []
    def export(self, spans):
        self.spans.extend(spans)
        return SpanExportResult.SUCCESS

class Drop(SpanExporter):
    def export(self, spans):
        return SpanExportResult.SUCCESS

def library_turn():
    with staso_otel.turn("fix the failing test in parser.py", session_id="s-1") as t:
        with staso_otel.llm_call(
            "gpt-5", provider="openai",
            input_messages=[{"role": "user", "content": "fix the failing test in parser.py"}],
        ) as call:
            call.set_usage(812, 64, cache_read_tokens=512)
            call.set_response("I will run the tests first.", response_id="resp_1")
        with staso_otel.tool_call("shell", {"command": "pytest -q tests/test_parser.py"}) as tool:
            tool.set_result("1 failed, 11 passed in 0.4s")
        t.set_response("Fixed: the parser now accepts empty input.")

# what the library's spans carry, to give the raw spans the very same attributes
keep = Keep()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(keep))
staso_otel.configure(exporter=keep, tracer_provider=provider)
library_turn()
made = {s.name: s for s in keep.spans}
root = next(s for s in keep.spans if s.parent is None)
children = [s for s in keep.spans if s.parent is not None]

provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(Drop()))
staso_otel.configure(exporter=Drop(), tracer_provider=provider)
tracer = provider.get_tracer("raw")

def raw_turn():
    with tracer.start_as_current_span(root.name, kind=root.kind, attributes=dict(root.attributes)):
        for child in children:
            with tracer.start_as_current_span(
                child.name, kind=child.kind, attributes=dict(child.attributes)
            ):
                pass

def block(fn):
    start = time.perf_counter()
    for _ in range(turns):
        fn()
    return time.perf_counter() - start

for fn in (library_turn, raw_turn):  # warm up
    block(fn)
lib, raw = [], []
for _ in range(blocks):
    lib.append(block(library_turn))
    raw.append(block(raw_turn))
print(json.dumps({
    "spans_per_turn": len(keep.spans),
    "library_turns_per_s": turns / statistics.median(lib),
    "raw_turns_per_s": turns / statistics.median(raw),
}))
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=500)
    parser.add_argument("--blocks", type=int, default=11)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="staso-bench-api-") as tmp:
        env = {"STASO_HOME": str(Path(tmp) / "staso"), "HOME": tmp, "PATH": "/usr/bin:/bin"}
        out = subprocess.run(
            [wheel_venv.python(), "-c", MEASURE, str(args.turns), str(args.blocks)],
            env=env,
            cwd=tmp,
            capture_output=True,
            text=True,
            timeout=900,
        )
    if out.returncode != 0:
        print(out.stderr[-3000:], file=sys.stderr)
        return 2
    r = json.loads(out.stdout.splitlines()[-1])
    ratio = r["library_turns_per_s"] / r["raw_turns_per_s"]
    spans = r["spans_per_turn"]
    print(
        f"library spans  turn + llm_call + tool_call: {r['library_turns_per_s'] * spans:,.0f} "
        f"spans/s vs raw tracer spans with the same attributes "
        f"{r['raw_turns_per_s'] * spans:,.0f} spans/s ({ratio:.2f}x, target >= {TARGET:g}x)"
    )
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    (results / "api.json").write_text(json.dumps({**r, "ratio": ratio}, indent=2))
    if ratio < TARGET:
        print(f"MISSED: library spans {ratio:.2f}x raw")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
