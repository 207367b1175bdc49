"""Replay a recorded Codex session through the real hook record path and the Codex target.

A fixture folder (tests/fixtures/codex/<run>/) holds `hooks.jsonl` (each line
`{"t": receipt time in s, "payload": <hook stdin>}`) and `sessions/` (the rollout files as
they were at the end). `replay()`:

1. copies the rollouts under `codex_home/sessions/` and rewrites every `/home/dev/.codex`
   in the payloads to `codex_home`;
2. feeds each payload, as bytes, to `staso_otel.hook.main.record("codex", raw, received_ns)`
   (what `staso hook codex` calls) with received_ns from the fixture's "t", so the records
   land in the real journal under STASO_HOME;
3. runs the Codex target over the journal (`staso_otel.record.journal.read`) as the worker
   does, round-tripping the state through JSON after every batch, and returns the spans.

`worker="end"`: the rollouts are complete and the target runs once after every event is
recorded (a worker that lags behind). `worker="prompt"`: the rollouts are written
progressively (only lines whose own timestamp <= t exist when the event at t is recorded)
and the target runs after every event (a worker that keeps up), then once more when the
rollouts are complete (the worker keeps polling a session whose last Stop waits on them).

Under pytest, tests/ is on sys.path (no __init__.py), so from any test:

    from replay import FIXTURES_CODEX, replay
    result = replay(FIXTURES_CODEX / "tour_resume", tmp_path / "codex-home")
    for span in result.spans: ...
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from staso_otel.hook import main as hook_main
from staso_otel.record import journal
from staso_otel.span.model import SpanData
from staso_otel.targets import Context, get

RECORDED_CODEX_HOME = "/home/dev/.codex"
FIXTURES_CODEX = Path(__file__).parent / "fixtures" / "codex"
DAY_NS = 24 * 3600 * 10**9


@dataclass
class ReplayResult:
    spans: list[SpanData]
    state: dict[str, Any]
    session_id: str
    codex_home: Path
    batches: int = 0
    rollouts: dict[str, Path] = field(default_factory=dict)  # file name -> replayed path


def ts_ns(value: str) -> int:
    """A rollout line's ISO timestamp as ns since the epoch."""
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return int(dt.timestamp() * 1_000_000) * 1000


def read_hooks(
    fixture: Path, recorded: str, replayed: str, keep: frozenset[str] | None = None
) -> list[tuple[int, dict[str, Any]]]:
    """(received_ns, payload) of the fixture's recorded hook events, every `recorded` path
    in them rewritten to `replayed`; with `keep`, only the events it names."""
    events = []
    for line in (fixture / "hooks.jsonl").read_text().splitlines():
        if line.strip():
            data = json.loads(line.replace(recorded, replayed))
            if keep is None or data["payload"].get("hook_event_name") in keep:
                events.append((round(data["t"] * 1e9), data["payload"]))
    return events


def load_events(fixture: Path, codex_home: Path) -> list[tuple[int, dict[str, Any]]]:
    """(received_ns, payload) of every recorded hook event, paths rewritten."""
    return read_hooks(fixture, RECORDED_CODEX_HOME, str(codex_home))


def iso(ns: int) -> str:
    """ns since the epoch as a rollout timestamp (`2026-11-23T22:00:21.023Z`)."""
    dt = datetime.fromtimestamp(ns // 1_000_000 / 1000, tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ns // 1_000_000 % 1000:03d}Z"


class Rollouts:
    """The fixture's rollout files, written under codex_home at once or up to a time.
    `shift_ns` (whole ms) moves every line's timestamp, as `record_fixture` moves the hook
    times: a session replayed "now" must have its rollout written now too."""

    def __init__(self, fixture: Path, codex_home: Path, shift_ns: int = 0) -> None:
        self.files: list[tuple[Path, list[tuple[int, bytes]]]] = []
        self.written: dict[Path, int] = {}
        root = fixture / "sessions"
        for src in sorted(root.rglob("*.jsonl")) if root.is_dir() else []:
            lines = []
            for raw in src.read_bytes().splitlines(keepends=True):
                line = json.loads(raw)
                stamp = ts_ns(line["timestamp"]) + shift_ns if line.get("timestamp") else 0
                if shift_ns and stamp:
                    line["timestamp"] = iso(stamp)
                    raw = (json.dumps(line, ensure_ascii=False) + "\n").encode()
                lines.append((stamp, raw))
            self.files.append((codex_home / "sessions" / src.relative_to(root), lines))

    def write_until(self, t_ns: int | None) -> None:
        """Append, in file order, the lines written by t_ns (all lines if None)."""
        for dst, lines in self.files:
            done = self.written.get(dst, 0)
            count = 0
            for stamp, _raw in lines[done:]:
                if t_ns is not None and stamp > t_ns:
                    break
                count += 1
            if count == 0:
                continue
            dst.parent.mkdir(parents=True, exist_ok=True)
            with open(dst, "ab") as fh:
                fh.write(b"".join(raw for _stamp, raw in lines[done : done + count]))
            self.written[dst] = done + count


def record(target: str, payload: dict[str, Any], t: int) -> None:
    """One recorded payload through the hook's record path, as bytes, received at `t`."""
    raw = json.dumps(payload, ensure_ascii=False).encode()
    if not hook_main.record(target, raw, t):
        raise AssertionError(f"hook quarantined a recorded event: {raw[:200]!r}")


def run_target(
    state: dict[str, Any], path: Path, offset: int, ctx: Context, target: str = "codex"
) -> tuple[list[SpanData], int, dict[str, Any]]:
    """One worker pass over a journal from `offset`: (spans, new offset, saved state)."""
    records = list(journal.read(path, offset))
    spans = get(target).process(state, records, ctx)
    saved = json.loads(json.dumps(state))  # the worker saves the state as JSON
    return spans, (records[-1].end if records else offset), saved


def replay(
    fixture: Path,
    codex_home: Path,
    *,
    worker: str = "end",
    capture_content: bool = True,
    expire: bool = False,
) -> ReplayResult:
    """Replay `fixture` (see the module docstring); `worker` is "end" or "prompt";
    `expire` also runs the 24 h idle expiry afterwards."""
    if worker not in ("end", "prompt"):
        raise ValueError("worker must be 'end' or 'prompt'")
    codex_home.mkdir(parents=True, exist_ok=True)
    events = load_events(fixture, codex_home)
    rollouts = Rollouts(fixture, codex_home)
    session_id = events[0][1]["session_id"]
    jpath = journal.journal_path("codex", session_id)
    state: dict[str, Any] = {}
    spans: list[SpanData] = []
    offset = batches = 0
    if worker == "end":
        rollouts.write_until(None)
    for t, payload in events:
        if worker == "prompt":
            rollouts.write_until(t)
        record("codex", payload, t)
        if worker == "prompt":
            ctx = Context(now_ns=t, capture_content=capture_content)
            new, offset, state = run_target(state, jpath, offset, ctx)
            spans += new
            batches += 1
    last_t = events[-1][0]
    if worker == "prompt":  # the rest of the rollout arrives; the waiting worker looks again
        rollouts.write_until(None)
        new, offset, state = run_target(state, jpath, offset, Context(last_t, capture_content))
        spans += new
        batches += 1
    if worker == "end":
        ctx = Context(now_ns=last_t, capture_content=capture_content)
        new, offset, state = run_target(state, jpath, offset, ctx)
        spans += new
        batches += 1
    if expire:
        ctx = Context(now_ns=last_t + DAY_NS + 1, capture_content=capture_content)
        spans += get("codex").expire(state, ctx)
        state = json.loads(json.dumps(state))
    return ReplayResult(
        spans=spans,
        state=state,
        session_id=session_id,
        codex_home=codex_home,
        batches=batches,
        rollouts={dst.name: dst for dst, _ in rollouts.files},
    )


RECORDED_HOME = "/home/dev"  # the home folder the Claude Code and Gemini CLI runs had


@dataclass(frozen=True)
class Recorded:
    """An agent whose fixture runs hold `hooks.jsonl` and a folder of transcripts, recorded
    in `RECORDED_HOME` and replayed in a home of the test's."""

    target: str
    root: Path  # tests/fixtures/<agent>: one folder per recorded run
    transcripts: str  # a run's folder of transcripts as they were at the end
    transcripts_home: str  # where the agent keeps them, below the home folder
    subscribed: frozenset[str] | None = None  # the events staso hooks; None: all recorded

    def events(
        self, fixture: Path, home: Path, every: bool = False
    ) -> list[tuple[int, dict[str, Any]]]:
        """(received_ns, payload) of the run's events staso subscribes to (`every`: all)."""
        keep = None if every else self.subscribed
        return read_hooks(fixture, RECORDED_HOME + "/", f"{home}/", keep)


class Transcripts(Rollouts):
    """A run's transcripts under `home`, written at once or by time (`write_until` as for
    Codex rollouts); a line with no timestamp of its own comes with the line before it.
    Files other than JSONL (a subagent's meta.json) are there from the start."""

    def __init__(self, recorded: Recorded, fixture: Path, home: Path) -> None:
        self.files: list[tuple[Path, list[tuple[int, bytes]]]] = []
        self.written: dict[Path, int] = {}
        root = fixture / recorded.transcripts
        for src in sorted(root.rglob("*")):
            if not src.is_file():
                continue
            dst = home / recorded.transcripts_home / src.relative_to(root)
            text = src.read_text().replace(RECORDED_HOME + "/", f"{home}/")
            if src.suffix != ".jsonl":
                dst.parent.mkdir(parents=True, exist_ok=True)
                dst.write_text(text)
                continue
            lines, stamp = [], 0
            for raw in text.encode().splitlines(keepends=True):
                line = json.loads(raw)
                stamp = ts_ns(line["timestamp"]) if line.get("timestamp") else stamp
                lines.append((stamp, raw))
            self.files.append((dst, lines))


@dataclass
class AgentReplay:
    spans: list[SpanData]
    session_id: str  # the first event's
    states: dict[str, dict[str, Any]]  # session id -> reducer state
    transcripts: list[Path]


def replay_recorded(
    recorded: Recorded,
    fixture: Path,
    home: Path,
    *,
    each_event: bool,
    capture_content: bool = True,
    expire: bool = False,
    events: list[tuple[int, dict[str, Any]]] | None = None,
    keep_transcripts: bool = False,
) -> AgentReplay:
    """Replay a run of `recorded` into `home`. `each_event`: transcript lines appear when
    their timestamp has passed and the target runs on the event's session after every
    event (a worker that keeps up); else the transcripts are complete and the target runs
    once per session at the end (a worker that lags). `events`: these instead of the run's;
    `keep_transcripts`: the caller wrote them already. `expire`: then a day's idle expiry."""
    target = recorded.target
    home.mkdir(parents=True, exist_ok=True)
    events = events if events is not None else recorded.events(fixture, home)
    transcripts = Transcripts(recorded, fixture, home)
    if keep_transcripts:
        transcripts.files = []
    sessions = list(dict.fromkeys(str(p.get("session_id")) for _, p in events))
    states: dict[str, dict[str, Any]] = {sid: {} for sid in sessions}
    offsets = dict.fromkeys(sessions, 0)
    spans: list[SpanData] = []

    def run(sid: str, t: int) -> None:
        jpath = journal.journal_path(target, sid)
        ctx = Context(t, capture_content)
        new, offsets[sid], states[sid] = run_target(states[sid], jpath, offsets[sid], ctx, target)
        spans.extend(new)

    if not each_event:
        transcripts.write_until(None)
    for t, payload in events:
        if each_event:
            transcripts.write_until(t)
        record(target, payload, t)
        if each_event:
            run(str(payload.get("session_id")), t)
    last = events[-1][0]
    if not each_event:
        for sid in sessions:
            run(sid, last)
    if expire:
        for sid in sessions:
            ctx = Context(last + DAY_NS + 1, capture_content)
            spans.extend(get(target).expire(states[sid], ctx))
    files = [dst for dst, _ in transcripts.files]
    return AgentReplay(spans, str(events[0][1]["session_id"]), states, files)


def fixtures(root: Path = FIXTURES_CODEX) -> Iterator[Path]:
    """Every recorded run under root (folders holding a hooks.jsonl)."""
    for path in sorted(root.iterdir()):
        if (path / "hooks.jsonl").is_file():
            yield path


def run_random(
    target: str, events: list[dict[str, Any]], batch: int
) -> tuple[list[SpanData], dict[str, Any]]:
    """Fuzzed events (dicts without a session id) through a target in batches of `batch`,
    the state round-tripped through JSON as the worker saves it, then a day's expiry."""
    from staso_otel.record.journal import Record

    agent = get(target)
    records = [
        Record(target, 1_000 + i * 10, {"session_id": "fuzz", **e}) for i, e in enumerate(events)
    ]
    state: dict[str, Any] = {}
    spans: list[SpanData] = []
    for start in range(0, len(records), batch):
        spans += agent.process(state, records[start : start + batch], Context(now_ns=0))
        state = json.loads(json.dumps(state))
    spans += agent.expire(state, Context(now_ns=10**12))
    return spans, state
