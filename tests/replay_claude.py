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

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from replay import DAY_NS, Rollouts, ts_ns

from staso_otel.hook import main as hook_main
from staso_otel.record import journal
from staso_otel.span.model import SpanData
from staso_otel.targets import Context, get

RECORDED_HOME = "/home/dev"
FIXTURES_CLAUDE = Path(__file__).parent / "fixtures" / "claude-code"
TARGET = "claude-code"


@dataclass
class ClaudeReplay:
    spans: list[SpanData]
    state: dict[str, Any]  # the first session's (a fork is a session of its own)
    session_id: str
    home: Path
    transcripts: list[Path]
    states: dict[str, dict[str, Any]]  # session id -> reducer state


def load_events(fixture: Path, home: Path) -> list[tuple[int, dict[str, Any]]]:
    events = []
    for line in (fixture / "hooks.jsonl").read_text().splitlines():
        if line.strip():
            data = json.loads(line.replace(RECORDED_HOME + "/", str(home) + "/"))
            events.append((round(data["t"] * 1e9), data["payload"]))
    return events


class Transcripts(Rollouts):
    """The fixture's transcripts, written under home/.claude/projects at once or by time
    (`write_until` as for Codex rollouts)."""

    def __init__(self, fixture: Path, home: Path) -> None:
        self.files: list[tuple[Path, list[tuple[int, bytes]]]] = []
        self.written: dict[Path, int] = {}
        root = fixture / "projects"
        for src in sorted(root.rglob("*")):
            if not src.is_file():
                continue
            dst = home / ".claude" / "projects" / src.relative_to(root)
            text = src.read_text().replace(RECORDED_HOME + "/", str(home) + "/")
            if src.suffix != ".jsonl":
                dst.parent.mkdir(parents=True, exist_ok=True)
                dst.write_text(text)
                continue
            lines, stamp = [], 0
            for raw in text.encode().splitlines(keepends=True):
                stamp = ts_ns(json.loads(raw)["timestamp"]) if b'"timestamp"' in raw else stamp
                lines.append((stamp, raw))
            self.files.append((dst, lines))


def _run(
    state: dict[str, Any], path: Path, offset: int, ctx: Context
) -> tuple[list[SpanData], int, dict[str, Any]]:
    records = list(journal.read(path, offset))
    spans = get(TARGET).process(state, records, ctx)
    return spans, (records[-1].end if records else offset), json.loads(json.dumps(state))


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
        new, offsets[sid], states[sid] = _run(
            states[sid], jpath, offsets[sid], Context(t, capture_content)
        )
        spans.extend(new)

    if worker == "end" and not keep_transcripts:  # keep: the caller wrote them already
        transcripts.write_until(None)
    for t, payload in events:
        if worker == "prompt":
            transcripts.write_until(t)
        raw = json.dumps(payload, ensure_ascii=False).encode()
        if not hook_main.record(TARGET, raw, t):
            raise AssertionError(f"hook quarantined a recorded event: {raw[:200]!r}")
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
    for path in sorted(FIXTURES_CLAUDE.iterdir()):
        if (path / "hooks.jsonl").is_file():
            yield path
