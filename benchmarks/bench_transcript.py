"""Transcript scaling: one Codex turn's processing with 1 MB .. 100 MB of rollout before it.

The target must read only what the turn wrote (SPEC: "the cost of a hook does not grow with
the length of the session"). Two cases, each timed as the median of interleaved runs:

- continued: the session state is there (earlier turns were processed); turn 2's rollout
  lines are appended and turn 2's journal records processed;
- resumed: no state (first `codex exec resume` traced, or state lost); the rollout already
  holds 100 MB of older turns and the reader must find turn 2 without reading them.

Target: every size / 1 MB <= 1.3. The measuring process is the wheel-installed venv's
python (benchmarks/wheel_venv.py), as users run the worker: started from another
interpreter, the script runs itself again there.
Run: `.venv/bin/python benchmarks/bench_transcript.py [--sizes 1,10,100] [--runs 41]`.
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
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import wheel_venv  # noqa: E402

FIXTURE = ROOT / "tests" / "fixtures" / "codex" / "tour_resume"
TARGET_RATIO = 1.3


def _line(ordinal: int, ns: int, kind: str, payload: dict[str, Any]) -> bytes:
    when = datetime.fromtimestamp(ns / 1e9, timezone.utc)
    stamp = when.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    data = {"timestamp": stamp, "ordinal": ordinal, "type": kind, "payload": payload}
    return json.dumps(data).encode() + b"\n"


def filler(size: int, start_ns: int) -> bytes:
    """Older turns' rollout lines (task_started + tool outputs + token records), ~size bytes."""
    out, total, i, turn = [], 0, 0, 0
    while total < size:
        owner = f"old-{turn}"
        if i % 200 == 0:
            turn += 1
            kind, payload = "event_msg", {"type": "task_started", "turn_id": f"old-{turn}"}
        elif i % 3 == 0:
            usage = {"input_tokens": 1000, "output_tokens": 50, "total_tokens": 1050}
            kind = "token_usage_record"
            payload = {"turn_id": owner, "response_id": f"r{i}", "usage": usage}
        else:
            kind = "response_item"
            payload = {"type": "function_call_output", "call_id": f"c{i}", "output": "x" * 4000}
        chunk = _line(i, start_ns + i, kind, payload)
        out.append(chunk)
        total += len(chunk)
        i += 1
    return b"".join(out)


class Setup:
    """One session laid out on disk: rollout = meta + filler + turn 1 (+ turn 2 later)."""

    def __init__(self, base: Path, filler_bytes: int) -> None:
        from replay import Rollouts, load_events

        from staso_otel.hook import main as hook_main
        from staso_otel.record import journal
        from staso_otel.targets import Context, get

        os.environ["STASO_HOME"] = str(base / "staso")
        self.codex = get("codex")
        self.Context = Context
        codex_home = base / "codex"
        ((self.path, lines),) = Rollouts(FIXTURE, codex_home).files
        split = next(i for i, (_, raw) in enumerate(lines) if b"add3" in raw) - 1
        meta = lines[0][1]
        head = b"".join(raw for _, raw in lines[1:split])
        self.tail = b"".join(raw for _, raw in lines[split:])
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_bytes(meta + filler(filler_bytes, lines[0][0] - 3600 * 10**9) + head)
        self.head_size = self.path.stat().st_size
        events = load_events(FIXTURE, codex_home)
        kinds = [p["hook_event_name"] for _, p in events]
        second = kinds.index("SessionStart", 1)
        for t, payload in events:
            hook_main.record("codex", json.dumps(payload).encode(), t)
        records = list(journal.read(journal.journal_path("codex", events[0][1]["session_id"])))
        self.turn1, self.turn2 = records[:second], records[second:]
        state: dict[str, Any] = {}
        self.codex.process(state, self.turn1, Context(now_ns=0))
        # A live session reads each earlier turn as it closes; one read is capped (64 MB),
        # so a first read of 100 MB at once stops short. State as a live session leaves it:
        # everything before turn 2 consumed.
        state["files"][str(self.path)]["off"] = self.head_size
        self.state_after_turn1 = json.dumps(state)

    def continued(self) -> float:
        os.truncate(self.path, self.head_size)
        with open(self.path, "ab") as fh:
            fh.write(self.tail)
        state = json.loads(self.state_after_turn1)
        start = time.perf_counter()
        spans = self.codex.process(state, self.turn2, self.Context(now_ns=0))
        elapsed = time.perf_counter() - start
        assert any(s.parent_span_id is None for s in spans)
        return elapsed

    def resumed(self) -> float:
        if self.path.stat().st_size == self.head_size:
            with open(self.path, "ab") as fh:
                fh.write(self.tail)
        state: dict[str, Any] = {}
        start = time.perf_counter()
        spans = self.codex.process(state, self.turn2, self.Context(now_ns=0))
        elapsed = time.perf_counter() - start
        assert any(s.parent_span_id is None for s in spans)
        return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", default="1,10,100", help="MB of rollout before the turn; the first is the base"
    )
    parser.add_argument("--runs", type=int, default=41)
    args = parser.parse_args(argv)
    if Path(sys.prefix).resolve() != wheel_venv.venv().resolve():
        here = [wheel_venv.python(), __file__, *(sys.argv[1:] if argv is None else argv)]
        return subprocess.run(here, check=False).returncode
    import staso_otel

    assert "site-packages" in staso_otel.__file__, staso_otel.__file__  # the wheel, not the tree
    sizes = [float(x) for x in args.sizes.split(",")]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        setups = [Setup(Path(tmp) / f"s{i}", int(mb * 1024 * 1024)) for i, mb in enumerate(sizes)]
        failed = False
        for case in ("continued", "resumed"):
            times: list[list[float]] = [[] for _ in sizes]
            for _ in range(args.runs):  # interleaved, so drift hits every size alike
                for i, setup in enumerate(setups):
                    times[i].append(getattr(setup, case)())
            base = statistics.median(times[0])
            for mb, samples in zip(sizes, times, strict=True):
                med = statistics.median(samples)
                ratio = med / base
                failed |= ratio > TARGET_RATIO
                results.append({"case": case, "mb": mb, "median_ms": med * 1e3, "ratio": ratio})
                print(
                    f"{case:9} {mb:6g} MB  {med * 1e3:7.2f} ms  ratio to {sizes[0]:g} MB "
                    f"{ratio:4.2f}  (target <= {TARGET_RATIO})"
                )
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / "transcript.json").write_text(json.dumps(results, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
