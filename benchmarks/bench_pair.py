"""Two builds of staso on one workload, in alternating blocks: is a change faster, and by how much?

The target benchmarks compare staso with a baseline in the same run, but the ratio they
print moves by 10% or more from one run to the next on this shared machine (the raw
tracer's own rate swung twofold within minutes on 12-03), so a change worth 5-30% does not
show in them. Here this checkout's wheel venv and another build's (`--against`: that
checkout's `.cache/bench-wheel/bin/python`, made by `python benchmarks/wheel_venv.py`
there) each run the workload in a process that stays up. They are asked for one block each
in turn, the order swapped every round, so a slow minute slows both. Each block is CPU
time per unit of the process that ran it. The figure is the median of the per-round time
ratios (this / against; below 1: this one is faster), with its quartiles. Without
`--against`, both sides are this build: an A/A run, which shows the noise.

- `library`: one agent turn made with `staso_otel.turn` / `llm_call` / `tool_call` into
  an in-memory exporter (bench_api.py's turn), µs per turn;
- `redact`: `redact_text` on every string of 8 to 255 characters in the recorded
  sessions (tests/fixtures), µs per string.

With `--instructions`, each side's workload runs under valgrind's callgrind instead, once
for `--block` units and once for three times as many; the difference over the extra
units is the instructions per unit, which do not move with the machine's load (the same
total to within 0.3% from run to run on 12-04, where the paired time ratio's quartiles
spanned 0.8-1.15). Instructions are not time: a change that allocates more or misses the
cache more shows less here than in seconds, so judge a change on both, and a target only
on the benchmark that owns it.

    .venv/bin/python benchmarks/bench_pair.py [--against PYTHON] [--workload library|redact]
        [--rounds 40] [--block 200] [--instructions]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import wheel_venv  # noqa: E402
from bench_api import LIBRARY_TURN  # noqa: E402

FIXTURES = HERE.parent / "tests" / "fixtures"

# Each side's process: set up once, then one block per line read on stdin, printing the
# block's CPU time per unit in µs. argv: block size, fixtures folder.
_SERVE = r"""
import sys, time
block, fixtures = int(sys.argv[1]), sys.argv[2]

def serve(unit, units):
    done = 0
    for _ in sys.stdin:
        start = time.process_time()
        for _ in range(block):
            unit(done)
            done += 1
        print((time.process_time() - start) / block * 1e6 / units, flush=True)
"""

LIBRARY = (
    LIBRARY_TURN
    + r"""
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
keep = InMemorySpanExporter()
staso_otel.configure(exporter=keep)

def unit(i):
    library_turn(i)
    if i % 500 == 499:
        keep.clear()

serve(unit, 1)
"""
)

REDACT = r"""
import json, pathlib
from staso_otel.span.secrets import redact_text
texts = []

def walk(value):
    if isinstance(value, str):
        if 8 <= len(value) < 256:
            texts.append(value)
    elif isinstance(value, dict):
        for v in value.values():
            walk(v)
    elif isinstance(value, list):
        for v in value:
            walk(v)

for path in sorted(pathlib.Path(fixtures).rglob("*.jsonl")):
    for line in path.read_text(errors="replace").splitlines():
        try:
            walk(json.loads(line))
        except ValueError:
            pass
texts = texts[:20000]

def unit(i):
    for text in texts:
        redact_text(text)

serve(unit, len(texts))
"""

WORKLOADS = {"library": (LIBRARY, "µs per turn"), "redact": (REDACT, "µs per string")}

# --instructions: `serve` as a run of `block` units to warm up, then argv[3] units, exit;
# it prints the workload's units per unit (strings per pass for `redact`).
_COUNT = r"""
import sys
block, fixtures, extra = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])

def serve(unit, units):
    for i in range(block + extra):
        unit(i)
    print(units)
"""


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("STASO_", "OTEL_"))}


def _side(python: str, code: str, block: int) -> subprocess.Popen:
    return subprocess.Popen(
        [python, "-c", _SERVE + code, str(block), str(FIXTURES)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd="/",
        env=_env(),
    )


def _ask(side: subprocess.Popen) -> float:
    assert side.stdin is not None and side.stdout is not None
    side.stdin.write("go\n")
    side.stdin.flush()
    answer = side.stdout.readline()
    if not answer:
        raise RuntimeError(f"a side exited with {side.wait(timeout=30)}")
    return float(answer)


def pair(this: str, against: str, workload: str, rounds: int, block: int) -> dict:
    code, _ = WORKLOADS[workload]
    sides = [_side(this, code, block), _side(against, code, block)]
    try:
        for side in sides:  # warm: imports, caches, the first compiled patterns
            _ask(side)
        times: tuple[list[float], list[float]] = ([], [])
        for r in range(rounds):
            for i in (0, 1) if r % 2 == 0 else (1, 0):
                times[i].append(_ask(sides[i]))
    finally:
        for side in sides:
            if side.stdin is not None:
                side.stdin.close()
            side.wait(timeout=60)
    ratios = [a / b for a, b in zip(*times, strict=True)]
    quartiles = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else ratios * 3
    return {
        "workload": workload,
        "rounds": rounds,
        "this": round(statistics.median(times[0]), 2),
        "against": round(statistics.median(times[1]), 2),
        "ratio": round(statistics.median(ratios), 3),
        "q1": round(quartiles[0], 3),
        "q3": round(quartiles[-1], 3),
    }


def _instructions(python: str, code: str, block: int, extra: int) -> tuple[int, int]:
    """(instructions callgrind counted, the workload's units per unit) for one process."""
    argv = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
    argv += [python, "-c", _COUNT + code, str(block), str(FIXTURES), str(extra)]
    out = subprocess.run(argv, capture_output=True, text=True, cwd="/", env=_env(), timeout=1800)
    counted = re.search(r"Collected : (\d+)", out.stderr)
    if out.returncode != 0 or counted is None:
        raise RuntimeError(f"callgrind run exited {out.returncode}: {out.stderr[-500:]}")
    return int(counted.group(1)), int(out.stdout.split()[-1])


def per_unit(python: str, workload: str, block: int) -> float:
    """Instructions per unit of `workload` in `python`'s build: two runs, `block` and
    3 x `block` units after the same warm-up, so start-up and imports cancel out."""
    code, _ = WORKLOADS[workload]
    with ThreadPoolExecutor(2) as pool:  # the two runs at once: one per core
        short, long = pool.map(lambda n: _instructions(python, code, block, n), (block, 3 * block))
    return (long[0] - short[0]) / (2 * block) / long[1]


def count(this: str, against: str, workload: str, block: int) -> dict:
    if shutil.which("valgrind") is None:
        raise RuntimeError("--instructions needs valgrind (Debian: apt install valgrind)")
    mine = per_unit(this, workload, block)
    theirs = mine if against == this else per_unit(against, workload, block)
    return {
        "workload": workload,
        "block": block,
        "this": round(mine),
        "against": round(theirs),
        "ratio": round(mine / theirs, 4),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", help="the other build's python (default: this one)")
    parser.add_argument("--workload", choices=sorted(WORKLOADS), default="library")
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument(
        "--block", type=int, help="units per block (default 200; --instructions: 100, redact 1)"
    )
    parser.add_argument(
        "--instructions", action="store_true", help="count instructions (callgrind), not time"
    )
    args = parser.parse_args(argv)
    this = wheel_venv.python()
    against = args.against or this
    who = "itself (A/A)" if against == this else against
    try:
        if args.instructions:
            block = args.block or (1 if args.workload == "redact" else 100)
            r = count(this, against, args.workload, block)
        else:
            r = pair(this, against, args.workload, args.rounds, args.block or 200)
    except RuntimeError as e:
        print(f"bench_pair: {e}", file=sys.stderr)
        return 2
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    if args.instructions:
        per = WORKLOADS[args.workload][1].replace("µs", "instructions")
        print(
            f"{args.workload}: this build {r['this']:,} vs {who} {r['against']:,} {per} "
            f"(callgrind, {2 * r['block']} units after {2 * r['block']}); ratio {r['ratio']}x"
        )
        (out / f"pair-{args.workload}-instructions.json").write_text(json.dumps(r, indent=2))
        return 0
    unit = WORKLOADS[args.workload][1]
    print(
        f"{args.workload}: this build {r['this']} vs {who} {r['against']} {unit} (medians); "
        f"paired time ratio {r['ratio']}x (quartiles {r['q1']}-{r['q3']}, {r['rounds']} rounds, "
        f"load {os.getloadavg()[0]:.1f})"
    )
    (out / f"pair-{args.workload}.json").write_text(json.dumps(r, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
