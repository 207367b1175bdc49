"""Replay a recorded Claude Code session through the real hook record path and target.

A fixture folder (tests/fixtures/claude-code/<run>/) holds `hooks.jsonl` (each line
`{"t": receipt time in s, "payload": <hook stdin>}`) and `projects/` (the transcripts as
they were at the end, `/home/dev` standing for the home folder). `replay()`:

1. copies the transcripts under `home/.claude/projects/` and rewrites `/home/dev` in them
   and in the payloads to `home`;
2. feeds each payload, as bytes, to `staso_otel.hook.main.record("claude-code", ...)` (what
   `staso hook claude-code` calls) with the recorded receipt time;
3. runs the Claude Code target over the journal as the worker does, round-tripping the
   state through JSON after every batch, and returns the spans.

`worker="end"`: transcripts complete, the target runs once after every event (a worker
that lags). `worker="prompt"`: transcript lines appear when their timestamp has passed
(bookkeeping lines without one come with the line before them) and the target runs
after every event (a worker that keeps up).
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

FIXTURES_CLAUDE = Path(__file__).parent / "fixtures" / "claude-code"
TARGET = "claude-code"
CLAUDE = Recorded(TARGET, FIXTURES_CLAUDE, "projects", ".claude/projects")


@dataclass
class ClaudeReplay:
    spans: list[SpanData]
    state: dict[str, Any]  # the first session's (a fork is a session of its own)
    session_id: str
    home: Path
    transcripts: list[Path]
    states: dict[str, dict[str, Any]]  # session id -> reducer state


def load_events(fixture: Path, home: Path) -> list[tuple[int, dict[str, Any]]]:
    return CLAUDE.events(fixture, home)


class Transcripts(AgentTranscripts):
    """The run's transcripts under home/.claude/projects."""

    def __init__(self, fixture: Path, home: Path) -> None:
        super().__init__(CLAUDE, fixture, home)


def replay(
    fixture: Path,
    home: Path,
    *,
    worker: str = "end",
    capture_content: bool = True,
    expire: bool = False,
    events: list[tuple[int, dict[str, Any]]] | None = None,
    keep_transcripts: bool = False,
) -> ClaudeReplay:
    if worker not in ("end", "prompt"):
        raise ValueError("worker must be 'end' or 'prompt'")
    r = replay_recorded(
        CLAUDE,
        fixture,
        home,
        each_event=worker == "prompt",
        capture_content=capture_content,
        expire=expire,
        events=events,
        keep_transcripts=keep_transcripts,
    )
    return ClaudeReplay(
        r.spans, r.states[r.session_id], r.session_id, home, r.transcripts, r.states
    )


def fixtures() -> Iterator[Path]:
    return recorded_runs(FIXTURES_CLAUDE)
