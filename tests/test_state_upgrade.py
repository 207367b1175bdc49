"""A session's state written by staso before the turn kernel (version 1, one dict layout
per agent) is read on upgrade: the session goes on where it was, no open turn is lost and
no closed one is emitted again.

The v1 files under tests/fixtures/state/ were written by main's code of 2026-12-01 (the
commit before the kernel) from the recordings they name, cut mid-session: Codex with a turn
open at a tool call (its first turn closed), Codex with a turn whose Stop a Stop hook
blocked (the worker polling on it), Claude Code with a turn and its sub-agent open. Each
holds the cut, the span ids that code had emitted by then, and the state it saved.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import replay as codex_replay
import replay_claude as claude_replay

from staso_otel.hook import main as hook_main
from staso_otel.record import journal
from staso_otel.record.journal import Record
from staso_otel.span.model import SpanData
from staso_otel.targets import Context, get
from staso_otel.turns.state import VERSION

STATES = Path(__file__).parent / "fixtures" / "state"
CASES = {
    "codex-tour_resume-v1.json": ("codex", codex_replay.FIXTURES_CODEX),
    "codex-stop_block-v1.json": ("codex", codex_replay.FIXTURES_CODEX),
    "claude-code-agent-v1.json": ("claude-code", claude_replay.FIXTURES_CLAUDE),
}


def _record(target: str, fixture: Path, home: Path) -> list[Record]:
    mod = codex_replay if target == "codex" else claude_replay
    files = codex_replay.Rollouts if target == "codex" else claude_replay.Transcripts
    events = mod.load_events(fixture, home)
    files(fixture, home).write_until(None)
    for t, payload in events:
        assert hook_main.record(target, json.dumps(payload).encode(), t)
    return list(journal.read(journal.journal_path(target, events[0][1]["session_id"])))


def _run(target: str, state: dict[str, Any], batches: list[list[Record]]) -> list[SpanData]:
    spans: list[SpanData] = []
    for batch in batches:
        spans += get(target).process(state, batch, Context(now_ns=batch[-1].received_ns))
        state.update(json.loads(json.dumps(state)))  # saved as JSON between batches
    day = batches[-1][-1].received_ns + 86_400 * 10**9 + 1
    return spans + get(target).expire(state, Context(now_ns=day))


@pytest.mark.parametrize("name", sorted(CASES))
def test_v1_state_continues_the_session(tmp_path: Path, name: str) -> None:
    target, root = CASES[name]
    saved = json.loads((STATES / name).read_text().replace("<HOME>", str(tmp_path / "home")))
    records = _record(target, root / saved["fixture"], tmp_path / "home")
    cut = saved["cut"]
    whole = {s.span_id: s.to_dict() for s in _run(target, {}, [records[:cut], records[cut:]])}

    state = saved["state"]
    assert state["v"] == 1
    after = _run(target, state, [records[cut:]])
    assert state["v"] == VERSION  # saved in the kernel's format from then on

    before = {int(i, 16) for i in saved["spans"]}
    emitted = [s.span_id for s in after]
    assert len(emitted) == len(set(emitted))
    assert not before & set(emitted), "a span emitted before the upgrade was emitted again"
    assert before | set(emitted) == set(whole), "a span was lost across the upgrade"
    # the turns open at the upgrade come out as they would have without it
    assert {s.span_id: s.to_dict() for s in after} == {i: whole[i] for i in emitted}


def test_a_state_of_unknown_format_starts_over(tmp_path: Path) -> None:
    """Neither this version nor 1 (a newer staso's, or damaged): the state-lost path, the
    session goes on from the next event; nothing raises."""
    records = _record("codex", codex_replay.FIXTURES_CODEX / "hello", tmp_path / "home")
    state: dict[str, Any] = {"v": 99, "turns": {"x": {"weird": True}}}
    spans = get("codex").process(state, records, Context(now_ns=records[-1].received_ns))
    assert state["v"] == VERSION and state["turns"] == {}
    assert {s.span_id for s in spans} == {s.span_id for s in _run("codex", {}, [records])}


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_worker_upgrades_a_v1_state_file_mid_session(
    tmp_path: Path, name: str, isolated_homes: dict[str, Path], receiver: Any
) -> None:
    """The same, as the user has it: a v1 state file on disk beside its journal, the real
    worker, a real OTLP receiver. Every span not sent before the upgrade arrives, once."""
    from staso_otel import settings
    from staso_otel.pipeline import worker
    from staso_otel.record import state as state_files

    target, root = CASES[name]
    saved = json.loads((STATES / name).read_text().replace("<HOME>", str(tmp_path / "home")))
    records = _record(target, root / saved["fixture"], tmp_path / "home")
    cut = saved["cut"]
    jpath = journal.journal_path(target, records[0].payload["session_id"])
    state_files.paths.atomic_write(
        state_files.state_path(target, jpath.name),
        json.dumps(
            {
                "journal": str(jpath),
                "offset": records[cut - 1].end,
                "last_ns": records[cut - 1].received_ns,
                "target": saved["state"],
            }
        ).encode(),
    )
    pipeline = worker.Pipeline(settings=settings.load(overrides={"endpoint": receiver.endpoint}))
    try:
        pipeline.process_journals(now_ns=records[-1].received_ns)
        pipeline.send_spool(force=True)
    finally:
        pipeline.close()

    got = [int(s["span_id"], 16) for s in receiver.spans]
    before = {int(i, 16) for i in saved["spans"]}
    whole = {s.span_id: s for s in _run(target, {}, [records[:cut], records[cut:]])}
    assert got and len(got) == len(set(got))
    assert not before & set(got), "a span sent before the upgrade was sent again"
    assert before | set(got) == set(whole), "a span was lost across the upgrade"

    def shape(parent: int | None, name: str, start: int, end: int, keys: Any) -> tuple:
        return parent, name, start, end, set(keys) - {"staso.truncated"}  # the worker's cap

    sent = {
        int(s["span_id"], 16): shape(
            int(s["parent_span_id"], 16) if s["parent_span_id"] else None,
            s["name"], s["start_ns"], s["end_ns"], s["attributes"],
        )
        for s in receiver.spans
    }  # fmt: skip
    expected = {
        i: shape(s.parent_span_id, s.name, s.start_ns, s.end_ns, s.attributes)
        for i, s in whole.items()
        if i in sent
    }
    assert sent == expected  # each as it would have been without the upgrade
