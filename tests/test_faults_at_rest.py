"""At rest: journals, session state and the quarantine hold prompts and outputs
unredacted (0600). They stay no longer than needed: a session that ended and whose records
are spooled loses its journal and state once the resume grace has passed, and the
quarantine is bounded in size and age (300 bad inputs made 19.7 MB, never deleted)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from staso_otel import paths, settings
from staso_otel.export import retention
from staso_otel.hook import main as hook_main
from staso_otel.local import replay
from staso_otel.pipeline import worker

FIXTURES = Path(__file__).parent / "fixtures"
GRACE_NS = worker.CLOSED_GRACE_NS


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and not p.name.endswith(".lock")]


@pytest.mark.parametrize("target", ["claude-code", "codex"])
def test_an_ended_session_leaves_no_journal_or_state_behind(
    receiver, tmp_path, monkeypatch, target
):
    monkeypatch.setenv("STASO_NO_WORKER", "1")
    folder = "claude-code" if target == "claude-code" else "codex"
    replay.replay(FIXTURES / folder / "hello", tmp_path / "agent", target=target)
    s = settings.load(overrides={"endpoint": receiver.endpoint})
    report = worker.drain(settings=s)
    assert report.spans_left == 0 and receiver.spans
    sent = len(receiver.spans)
    # just ended: kept a while, a resume may follow
    assert _files(paths.journal_dir()) and _files(paths.state_dir())
    pipeline = worker.Pipeline(settings=s)
    try:
        pipeline.process_journals(now_ns=time.time_ns() + GRACE_NS + 10**9)
        assert pipeline.send_spool(force=True)[0] == 0  # nothing new, nothing twice
    finally:
        pipeline.close()
    assert _files(paths.journal_dir()) == []
    assert _files(paths.state_dir()) == []
    assert len(receiver.spans) == sent


def test_a_session_resumed_within_the_grace_keeps_its_state(receiver, tmp_path, monkeypatch):
    monkeypatch.setenv("STASO_NO_WORKER", "1")
    replay.replay(FIXTURES / "claude-code" / "hello", tmp_path / "agent", target="claude-code")
    s = settings.load(overrides={"endpoint": receiver.endpoint})
    worker.drain(settings=s)
    (jpath,) = _files(paths.journal_dir())
    session = json.loads(jpath.read_bytes().splitlines()[0])["payload"]["session_id"]
    resumed = {"session_id": session, "hook_event_name": "SessionStart", "source": "resume"}
    hook_main.record("claude-code", json.dumps(resumed).encode(), time.time_ns())
    pipeline = worker.Pipeline(settings=s)
    try:
        pipeline.process_journals(now_ns=time.time_ns() + GRACE_NS + 10**9)
    finally:
        pipeline.close()
    assert jpath.exists() and _files(paths.state_dir())  # not ended any more


def _bad_input(n: int) -> bytes:
    return b"not an event %d " % n + b"x" * 64 * 1024


def test_the_quarantine_is_bounded_in_size_and_age(receiver, isolated_homes):
    now = time.time_ns()
    old = now - retention.QUARANTINE_MAX_AGE_NS - 10**9
    hook_main.record("codex", b"an old bad input", old)
    for n in range(300):  # what the hook keeps of 300 bad inputs: ~19.7 MB
        hook_main.record("codex", _bad_input(n), now)
    qfile = paths.quarantine_dir() / "events.jsonl"
    assert qfile.stat().st_size > 19_000_000
    worker.drain(settings=settings.load(overrides={"endpoint": receiver.endpoint}))
    assert qfile.stat().st_size <= retention.QUARANTINE_MAX_BYTES
    entries = [json.loads(line) for line in qfile.read_bytes().splitlines()]
    assert entries and all(e["received_ns"] == now for e in entries)  # the old one went
    assert entries[-1]["raw"].startswith("not an event 299 ")  # the newest kept
    assert qfile.stat().st_mode & 0o777 == 0o600
    # the hook still appends to it afterwards
    hook_main.record("codex", b"one more", now + 1)
    assert qfile.read_bytes().splitlines()[-1].startswith(b"{")
    assert b"one more" in qfile.read_bytes().splitlines()[-1]


def test_the_worker_start_knows_the_grace():
    from staso_otel.pipeline import start

    assert start.CLOSED_GRACE_NS == worker.CLOSED_GRACE_NS
