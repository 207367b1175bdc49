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
from staso_otel.pipeline import session, worker

FIXTURES = Path(__file__).parent / "fixtures"
GRACE_NS = session.CLOSED_GRACE_NS


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

    assert start.CLOSED_GRACE_NS == session.CLOSED_GRACE_NS


def test_a_send_in_flight_when_the_home_is_removed_brings_nothing_back(isolated_homes):
    """`staso uninstall --purge` while the worker has a batch out: the 503 (or the park)
    that comes back must not re-create the spool with the user's content in it, nor the
    home around it (a worker used to, and then slept on the resurrected batch for a day)."""
    import shutil

    from staso_otel.export.spool import Spool
    from staso_otel.span.model import SpanData

    home = isolated_homes["staso"]
    spool = Spool(home)
    spans = [SpanData(1, 2, None, "turn", "INTERNAL", 1, 2, {"input.value": "secret plan"})]
    deferred = spool.load(spool.write("codex.s1.0", spans))
    parked = spool.load(spool.write("codex.s2.0", spans))
    assert deferred is not None and parked is not None
    shutil.rmtree(home)

    spool.defer(deferred, time.time_ns() + 600 * 10**9, "HTTP 503")
    spool.park(parked, "HTTP 301 to elsewhere", time.time_ns())
    spool.replace_spans(deferred, spans)
    assert not home.exists()


def test_a_worker_stops_when_its_home_is_removed_between_passes(isolated_homes, monkeypatch):
    """Between two passes the worker looks for its home first: it neither writes its
    status into a re-created folder nor waits on a retry there."""
    import shutil

    monkeypatch.setenv("STASO_WORKER_IDLE_SECONDS", "0.5")  # bounds the old behaviour's wait
    home = isolated_homes["staso"]
    pipeline = worker.Pipeline(home)
    try:
        passes = 0

        def process_journals(now_ns=None, **_):
            nonlocal passes
            passes += 1
            shutil.rmtree(home, ignore_errors=True)
            return (1, 0) if passes == 1 else (0, 0)

        monkeypatch.setattr(pipeline, "process_journals", process_journals)
        worker._work_until_idle(pipeline)  # would poll for worker_idle_seconds, then linger
        assert passes == 1
        assert not home.exists()
    finally:
        pipeline.close()
