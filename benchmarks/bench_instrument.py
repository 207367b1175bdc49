"""Overhead of `instrument_openai()` / `instrument_anthropic()` per model call.

Each case makes the same request with two clients of the same SDK against the same local
mock API (tests/mock_llm.py, in this process; the measured calls run in a wheel venv,
benchmarks/wheel_venv.py): one instrumented by staso inside a `turn()`, the other plain,
inside a raw root span, with a raw OpenTelemetry span around each call carrying exactly
the attributes staso's chat span ends up with (taken from staso's own output). Both go
through one TracerProvider, staso's processor and an exporter that drops them,
so the cost compared is staso's wrapping, message reading, attribute building and
redaction against making the span by hand. Blocks of calls alternate between the two;
medians of the blocks. Cases: OpenAI chat.completions plain and streamed, Anthropic
messages plain and `messages.stream()`. Target: <= 1.5x the raw-span call.

    .venv/bin/python benchmarks/bench_instrument.py [--calls 100] [--blocks 9]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

import wheel_venv  # noqa: E402
from mock_llm import MockLLM, Step  # noqa: E402

TARGET = 1.5
SDKS = ("openai==3.57.0", "anthropic==2.15.0")  # as pinned in the test extra

MEASURE = r"""
import json, statistics, sys, time
import anthropic, openai
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import SpanKind

import staso_otel

base, calls, blocks = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])

class Keep(SpanExporter):
    def __init__(self):
        self.spans = []
    def export(self, spans):
        self.spans.extend(spans)
        return SpanExportResult.SUCCESS

class Drop(SpanExporter):
    def export(self, spans):
        return SpanExportResult.SUCCESS

HISTORY = [
    {"role": "system", "content": "You are a careful coding agent."},
    {"role": "user", "content": "fix the failing test in parser.py"},
    {"role": "assistant", "content": "I will run the tests first."},
    {"role": "user", "content": "go on"},
]

def clients():
    return (
        openai.OpenAI(base_url=base + "/v1", api_key="k", max_retries=0),
        anthropic.Anthropic(base_url=base, api_key="k", max_retries=0),
    )

def oai_plain(c):
    c.chat.completions.create(model="gpt-5", messages=HISTORY)

def oai_stream(c):
    s = c.chat.completions.create(
        model="gpt-5", messages=HISTORY, stream=True, stream_options={"include_usage": True}
    )
    for _ in s:
        pass

def ant_plain(c):
    c.messages.create(
        model="claude-x", max_tokens=100, system=HISTORY[0]["content"], messages=HISTORY[1:]
    )

def ant_stream(c):
    with c.messages.stream(
        model="claude-x", max_tokens=100, system=HISTORY[0]["content"], messages=HISTORY[1:]
    ) as s:
        s.until_done()

CASES = {
    "openai chat.completions": (oai_plain, 0),
    "openai chat.completions, streamed": (oai_stream, 0),
    "anthropic messages": (ant_plain, 1),
    "anthropic messages.stream()": (ant_stream, 1),
}

traced, plain = clients(), clients()
staso_otel.instrument_openai(traced[0])
staso_otel.instrument_anthropic(traced[1])

# the attributes staso's chat spans end up with, for the raw spans
keep = Keep()
staso_otel.configure(exporter=keep, tracer_provider=TracerProvider())
shapes = {}
for name, (fn, which) in CASES.items():
    keep.spans.clear()
    with staso_otel.turn("fix the failing test", session_id="s-1"):
        fn(traced[which])
    [chat] = [s for s in keep.spans if s.name.startswith("chat ")]
    [root] = [s for s in keep.spans if s.parent is None]
    shapes[name] = (chat, root)

# one provider for both: staso's processor (a SimpleSpanProcessor to Drop) sees every span
provider = TracerProvider()
staso_otel.configure(exporter=Drop(), tracer_provider=provider)
tracer = provider.get_tracer("raw")

def instrumented(name):
    fn, which = CASES[name]
    client = traced[which]
    start = time.perf_counter()
    with staso_otel.turn("fix the failing test", session_id="s-1"):
        for _ in range(calls):
            fn(client)
    return time.perf_counter() - start

def raw(name):
    fn, which = CASES[name]
    client = plain[which]
    chat, root = shapes[name]
    start = time.perf_counter()
    with tracer.start_as_current_span(root.name, kind=root.kind, attributes=dict(root.attributes)):
        for _ in range(calls):
            with tracer.start_as_current_span(
                chat.name, kind=SpanKind.CLIENT, attributes=dict(chat.attributes)
            ):
                fn(client)
    return time.perf_counter() - start

out = {}
for name in CASES:
    instrumented(name), raw(name)  # warm up: connections, imports
    lib, bare = [], []
    for _ in range(blocks):
        lib.append(instrumented(name))
        bare.append(raw(name))
    out[name] = {
        "instrumented_ms": statistics.median(lib) / calls * 1000,
        "raw_ms": statistics.median(bare) / calls * 1000,
    }
print(json.dumps(out))
"""


def _ensure_sdks(python: str) -> None:
    probe = subprocess.run([python, "-c", "import openai, anthropic"], capture_output=True)
    if probe.returncode != 0:
        subprocess.run(
            [python, "-m", "pip", "install", "-q", *SDKS],
            check=True,
            timeout=600,
            stdout=subprocess.DEVNULL,
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--blocks", type=int, default=9)
    args = parser.parse_args(argv)
    python = wheel_venv.python()
    _ensure_sdks(python)
    mock = MockLLM().start()
    mock.script = [Step(text="I ran the tests: one fails on empty input, fixing the parser now.")]
    try:
        with tempfile.TemporaryDirectory(prefix="staso-bench-instrument-") as tmp:
            env = {"STASO_HOME": str(Path(tmp) / "staso"), "HOME": tmp, "PATH": "/usr/bin:/bin"}
            out = subprocess.run(
                [python, "-c", MEASURE, mock.base_url, str(args.calls), str(args.blocks)],
                env=env,
                cwd=tmp,
                capture_output=True,
                text=True,
                timeout=1800,
            )
    finally:
        mock.stop()
    if out.returncode != 0:
        print(out.stderr[-3000:], file=sys.stderr)
        return 2
    results = json.loads(out.stdout.splitlines()[-1])
    load = os.getloadavg()[0]
    worst = 0.0
    for name, r in results.items():
        ratio = r["instrumented_ms"] / r["raw_ms"]
        r["ratio"] = ratio
        worst = max(worst, ratio)
        print(
            f"{name:36} instrumented {r['instrumented_ms']:.3f} ms/call vs uninstrumented + "
            f"raw span {r['raw_ms']:.3f} ms/call ({ratio:.2f}x, "
            f"+{(r['instrumented_ms'] - r['raw_ms']) * 1000:.0f} us)"
        )
    print(f"worst {worst:.2f}x (target <= {TARGET:g}x), load average {load:.1f}")
    folder = HERE / "results"
    folder.mkdir(exist_ok=True)
    (folder / "instrument.json").write_text(json.dumps({**results, "load": load}, indent=2))
    if worst > TARGET:
        print(f"MISSED: instrumented calls {worst:.2f}x the raw-span call")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
