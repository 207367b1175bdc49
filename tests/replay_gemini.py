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

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from replay import Recorded, replay_recorded
from replay import Transcripts as AgentTranscripts
from replay import fixtures as recorded_runs

from staso_otel.span.model import SpanData
from staso_otel.targets.gemini import events as gemini_events

FIXTURES_GEMINI = Path(__file__).parent / "fixtures" / "gemini"
TARGET = "gemini"
GEMINI = Recorded(TARGET, FIXTURES_GEMINI, "tmp", ".gemini/tmp", gemini_events.ALL)


@dataclass
class GeminiReplay:
    spans: list[SpanData]
    state: dict[str, Any]
    session_id: str


def load_events(fixture: Path, home: Path, every: bool = False) -> list[tuple[int, dict]]:
    return GEMINI.events(fixture, home, every)


class Transcripts(AgentTranscripts):
    """The run's transcripts under home/.gemini/tmp."""

    def __init__(self, fixture: Path, home: Path) -> None:
        super().__init__(GEMINI, fixture, home)


def replay(fixture: Path, home: Path, *, worker: str = "end", every: bool = False) -> GeminiReplay:
    if worker not in ("end", "event"):
        raise ValueError("worker must be 'end' or 'event'")
    home.mkdir(parents=True, exist_ok=True)
    events = load_events(fixture, home, every)
    r = replay_recorded(GEMINI, fixture, home, each_event=worker == "event", events=events)
    return GeminiReplay(r.spans, r.states[r.session_id], r.session_id)


def fixtures() -> Iterator[Path]:
    return recorded_runs(FIXTURES_GEMINI)
