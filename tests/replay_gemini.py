"""Replay a recorded Gemini CLI session through the real hook record path and target.

A fixture folder (tests/fixtures/gemini/<run>/, made by tests/recorder/record_gemini.py)
holds `hooks.jsonl` (each line `{"t": receipt time in s, "payload": <hook stdin>}`) and
`tmp/` (the CLI's ~/.gemini/tmp as it was at the end: the session transcripts, `/home/dev`
standing for the home folder). `replay()`:

1. copies the transcripts under `home/.gemini/tmp/` and rewrites `/home/dev` in them and
   in the payloads to `home`;
2. feeds each payload the events staso subscribes to (`events.ALL`; `every=True`: all
   eleven the recording has) as bytes to `staso_otel.hook.main.record("gemini", ...)`
   with the recorded receipt time;
3. runs the Gemini target over the journal as the worker does, round-tripping the state
   through JSON after every batch, and returns the spans.

`worker="end"`: transcripts complete, the target runs once at the end (a worker that
lags). `worker="event"`: transcript lines appear when their timestamp has passed and the
target runs after every event (a worker that keeps up).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from replay import Rollouts, ts_ns

from staso_otel.hook import main as hook_main
from staso_otel.record import journal
from staso_otel.span.model import SpanData
from staso_otel.targets import Context, get
from staso_otel.targets.gemini import events as gemini_events

RECORDED_HOME = "/home/dev"
FIXTURES_GEMINI = Path(__file__).parent / "fixtures" / "gemini"
TARGET = "gemini"


@dataclass
class GeminiReplay:
    spans: list[SpanData]
    state: dict[str, Any]
    session_id: str


def load_events(fixture: Path, home: Path, every: bool = False) -> list[tuple[int, dict]]:
    events = []
    for line in (fixture / "hooks.jsonl").read_text().splitlines():
        if line.strip():
            data = json.loads(line.replace(RECORDED_HOME + "/", str(home) + "/"))
            if every or data["payload"].get("hook_event_name") in gemini_events.ALL:
                events.append((round(data["t"] * 1e9), data["payload"]))
    return events


class Transcripts(Rollouts):
    """The fixture's transcripts under home/.gemini/tmp, at once or by time; a line with
    no timestamp of its own (a `$set`) comes with the line before it."""

    def __init__(self, fixture: Path, home: Path) -> None:
        self.files: list[tuple[Path, list[tuple[int, bytes]]]] = []
        self.written: dict[Path, int] = {}
        root = fixture / "tmp"
        for src in sorted(root.rglob("*.jsonl")):
            text = src.read_text().replace(RECORDED_HOME + "/", str(home) + "/")
            lines, stamp = [], 0
            for raw in text.encode().splitlines(keepends=True):
                line = json.loads(raw)
                stamp = ts_ns(line["timestamp"]) if line.get("timestamp") else stamp
                lines.append((stamp, raw))
            self.files.append((home / ".gemini" / "tmp" / src.relative_to(root), lines))


def replay(fixture: Path, home: Path, *, worker: str = "end", every: bool = False) -> GeminiReplay:
    if worker not in ("end", "event"):
        raise ValueError("worker must be 'end' or 'event'")
    home.mkdir(parents=True, exist_ok=True)
    events = load_events(fixture, home, every)
    transcripts = Transcripts(fixture, home)
    session_id = str(events[0][1]["session_id"])
    state: dict[str, Any] = {}
    offset = 0
    spans: list[SpanData] = []

    def run(t: int) -> None:
        nonlocal offset, state
        records = list(journal.read(journal.journal_path(TARGET, session_id), offset))
        spans.extend(get(TARGET).process(state, records, Context(t)))
        offset = records[-1].end if records else offset
        state = json.loads(json.dumps(state))

    if worker == "end":
        transcripts.write_until(None)
    for t, payload in events:
        if worker == "event":
            transcripts.write_until(t)
        raw = json.dumps(payload, ensure_ascii=False).encode()
        if not hook_main.record(TARGET, raw, t):
            raise AssertionError(f"hook quarantined a recorded event: {raw[:200]!r}")
        if worker == "event":
            run(t)
    if worker == "end":
        run(events[-1][0])
    return GeminiReplay(spans, state, session_id)


def fixtures() -> Iterator[Path]:
    for path in sorted(FIXTURES_GEMINI.iterdir()) if FIXTURES_GEMINI.is_dir() else []:
        if (path / "hooks.jsonl").is_file():
            yield path
