"""Hook cost per event against a bare `python -c pass` of the same interpreter.

For each target (Codex, Claude Code), each collector state (up, down, hanging) and each
event type of a recorded session, runs the real hook (`python -m staso_otel.hook
<target>` and the `staso hook <target>` console script) interleaved with the bare
interpreter, N rounds, and prints medians and ratios. The hook never touches the
network, so the three states should look alike. Target: <= 2x bare; exits 1 if missed.

    .venv/bin/python benchmarks/bench_hook.py [--rounds 40] [--target codex|claude-code]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from otlp_receiver import Receiver  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures"
TARGET_RATIO = 2.0
# the recorded session and the event types measured, per target
TARGETS = {
    "codex": (
        FIXTURES / "codex" / "tour_resume" / "hooks.jsonl",
        [
            "SessionStart",
            "UserPromptSubmit",
            "PreModelRequest",
            "PostModelRequest",
            "PreToolUse",
            "PostToolUse",
            "Stop",
        ],
    ),
    "claude-code": (
        FIXTURES / "claude-code" / "tour_resume" / "hooks.jsonl",
        [
            "SessionStart",
            "UserPromptSubmit",
            "PreToolUse",
            "PostToolUse",
            "PostToolUseFailure",
            "PostToolBatch",
            "Stop",
        ],
    ),
}


def payloads(target: str) -> dict[str, bytes]:
    fixture, events = TARGETS[target]
    found: dict[str, bytes] = {}
    for line in fixture.read_text().splitlines():
        payload = json.loads(line)["payload"]
        found.setdefault(payload["hook_event_name"], json.dumps(payload).encode())
    return {name: found[name] for name in events}


def timed(argv: list[str], data: bytes, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(
        argv, input=data, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True
    )
    return (time.perf_counter() - start) * 1000


def measure(target: str, state: str, rounds: int, events: dict[str, bytes]) -> dict:
    receiver = None
    if state == "up":
        receiver = Receiver().start()
        endpoint = receiver.endpoint
    elif state == "hanging":
        receiver = Receiver(mode="hang", hang_s=60).start()
        endpoint = receiver.endpoint
    else:
        probe = Receiver().start()
        endpoint = probe.endpoint
        probe.stop()
    home = tempfile.mkdtemp(prefix=f"staso-bench-{state}-")
    env = {
        **os.environ,
        "STASO_HOME": home,
        "STASO_ENDPOINT": endpoint,
        "STASO_WORKER_IDLE_SECONDS": "2",
    }
    env.pop("STASO_RAISE_INTERNAL", None)
    script = str(Path(sys.executable).parent / "staso")
    variants = {
        "bare": [sys.executable, "-c", "pass"],
        "hook": [sys.executable, "-m", "staso_otel.hook", target],
        "script": [script, "hook", target],
    }
    samples: dict[str, list[float]] = {k: [] for k in variants}
    per_event: dict[str, list[float]] = {e: [] for e in events}
    names = list(events)
    for i in range(rounds):
        for name, argv in variants.items():
            event = names[i % len(names)]
            ms = timed(argv, events[event], env)
            samples[name].append(ms)
            if name == "hook":
                per_event[event].append(ms)
    if receiver:
        receiver.stop()
    bare = statistics.median(samples["bare"])
    return {
        "target": target,
        "state": state,
        "rounds": rounds,
        "median_ms": {k: round(statistics.median(v), 2) for k, v in samples.items()},
        "ratio": {k: round(statistics.median(v) / bare, 2) for k, v in samples.items()},
        "per_event_ratio": {
            e: round(statistics.median(v) / bare, 2) for e, v in per_event.items() if v
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--target", choices=sorted(TARGETS), action="append")
    args = parser.parse_args()
    results = [
        measure(target, state, args.rounds, payloads(target))
        for target in args.target or list(TARGETS)
        for state in ("up", "down", "hanging")
    ]
    for r in results:
        print(
            f"{r['target']:12} collector {r['state']:8} bare {r['median_ms']['bare']:6.1f} ms | "
            f"hook {r['median_ms']['hook']:6.1f} ms ({r['ratio']['hook']}x) | "
            f"staso hook {r['median_ms']['script']:6.1f} ms ({r['ratio']['script']}x)"
        )
        print(
            "   per event (python -m): "
            + ", ".join(f"{e} {x}x" for e, x in r["per_event_ratio"].items())
        )
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / "hook.json").write_text(json.dumps(results, indent=2))
    worst = max(r["ratio"]["hook"] for r in results)
    print(f"worst hook ratio {worst}x (target <= {TARGET_RATIO}x)")
    if worst > TARGET_RATIO:
        sys.exit(1)


if __name__ == "__main__":
    main()
