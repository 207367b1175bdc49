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

from replay import DAY_NS, Recorded, record, run_target
from replay import Transcripts as AgentTranscripts
from replay import fixtures as recorded_runs

from staso_otel.record import journal
from staso_otel.span.model import SpanData
from staso_otel.targets import Context, get

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
    home.mkdir(parents=True, exist_ok=True)
    events = events if events is not None else load_events(fixture, home)
    transcripts = Transcripts(fixture, home)
    if keep_transcripts:
        transcripts.files = []
    session_id = events[0][1]["session_id"]
    sessions = list(dict.fromkeys(str(p.get("session_id")) for _, p in events))
    states: dict[str, dict[str, Any]] = {sid: {} for sid in sessions}
    offsets = dict.fromkeys(sessions, 0)
    spans: list[SpanData] = []

    def run(sid: str, t: int) -> None:
        jpath = journal.journal_path(TARGET, sid)
        new, offsets[sid], states[sid] = run_target(
            states[sid], jpath, offsets[sid], Context(t, capture_content), TARGET
        )
        spans.extend(new)

    if worker == "end" and not keep_transcripts:  # keep: the caller wrote them already
        transcripts.write_until(None)
    for t, payload in events:
        if worker == "prompt":
            transcripts.write_until(t)
        record(TARGET, payload, t)
        if worker == "prompt":
            run(str(payload.get("session_id")), t)
    last = events[-1][0]
    if worker == "end":
        for sid in sessions:
            run(sid, last)
    if expire:
        for sid in sessions:
            spans.extend(
                get(TARGET).expire(states[sid], Context(last + DAY_NS + 1, capture_content))
            )
    files = [dst for dst, _ in transcripts.files]
    return ClaudeReplay(spans, states[session_id], session_id, home, files, states)


def fixtures() -> Iterator[Path]:
    return recorded_runs(FIXTURES_CLAUDE)
