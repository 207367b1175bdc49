"""A backlog reduced in a second process (pipeline/ahead.py) gives what one process gives.

The worker hands sessions to a child process and ships what comes back; whatever the
child does (answers, stops answering, dies mid-pass), every span arrives once and every
session's saved state is the one a worker alone saves.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
from pathlib import Path
from typing import ClassVar

import pytest
from clone_sessions import journal_tours
from otlp_receiver import Receiver

from staso_otel import cores, paths, settings
from staso_otel.pipeline import ahead, worker

SESSIONS = 30  # over ahead.MIN_SESSIONS: a backlog


@pytest.fixture
def backlog(isolated_homes, tmp_path) -> tuple[Path, Path, int]:
    """The same journals in two homes (the copy made after, so times and ids are equal)."""
    one = isolated_homes["staso"]
    spans = journal_tours(one, tmp_path / "agents", SESSIONS)
    other = tmp_path / "copy"
    shutil.copytree(one, other)
    return one, other, spans


def _drain(home: Path, monkeypatch, *, child: bool) -> tuple[list[dict], dict[str, dict]]:
    """Drain `home` to a fresh receiver; its spans and the sessions' saved states."""
    monkeypatch.setenv("STASO_HOME", str(home))
    monkeypatch.setattr(ahead, "MIN_SESSIONS", 2 if child else 10**9)
    monkeypatch.setattr(cores, "free", lambda: 2.0)  # whatever the machine's load
    receiver = Receiver().start()
    try:
        report = worker.drain(
            home=home, settings=settings.load(overrides={"endpoint": receiver.endpoint})
        )
        assert report.spans_left == 0 and not report.errors, report
        spans = list(receiver.spans)
    finally:
        receiver.stop()
    states = {
        p.name: json.loads(p.read_bytes())
        for p in paths.state_dir(home).rglob("*.json")
        if not p.name.endswith(".lock")
    }
    return spans, states


def _by_id(spans: list[dict]) -> dict[tuple[str, str], dict]:
    out = {(s["trace_id"], s["span_id"]): s for s in spans}
    assert len(out) == len(spans), "a span arrived twice"
    return out


class _Counted(ahead.Child):
    made: ClassVar[list[_Counted]] = []
    answers = 0  # messages read
    reduced = 0  # sessions it reduced

    def __init__(self, home: Path) -> None:
        super().__init__(home)
        _Counted.made.append(self)

    def read(self, timeout_s: float | None = None):
        message = super().read(timeout_s)
        if message is not None:
            _Counted.answers += 1
            _Counted.reduced += message[0] == "done"
        return message


@pytest.fixture
def counted(monkeypatch):
    _Counted.made, _Counted.answers, _Counted.reduced = [], 0, 0
    monkeypatch.setattr(ahead, "Child", _Counted)
    return _Counted


def test_a_backlog_reduced_beside_the_worker_sends_what_the_worker_alone_sends(
    backlog, monkeypatch, counted
):
    one, other, expected = backlog
    alone, alone_states = _drain(other, monkeypatch, child=False)
    assert not counted.made
    beside, beside_states = _drain(one, monkeypatch, child=True)
    # the sessions handed before it answered at least (this process reduces the others
    # while the child starts)
    assert len(counted.made) == 1 and counted.reduced >= ahead.WINDOW
    assert len(alone) == len(beside) == expected
    assert _by_id(beside) == _by_id(alone)
    assert beside_states == alone_states and len(beside_states) == SESSIONS


def test_a_child_that_stops_answering_is_stopped_and_its_sessions_redone_here(
    backlog, monkeypatch, counted
):
    one, other, expected = backlog
    alone, alone_states = _drain(other, monkeypatch, child=False)

    class Stopped(_Counted):
        def __init__(self, home: Path) -> None:
            super().__init__(home)
            os.kill(self._proc.pid, signal.SIGSTOP)  # wedged: alive, silent

    monkeypatch.setattr(ahead, "Child", Stopped)
    monkeypatch.setattr(ahead, "SILENCE_S", 1.0)
    beside, beside_states = _drain(one, monkeypatch, child=True)
    assert len(counted.made) == 1 and counted.answers == 0
    assert counted.made[0]._proc.returncode == -signal.SIGKILL
    assert _by_id(beside) == _by_id(alone) and len(beside) == expected
    assert beside_states == alone_states


def test_a_child_killed_mid_pass_loses_nothing_and_sends_nothing_twice(
    backlog, monkeypatch, counted
):
    one, other, expected = backlog
    alone, alone_states = _drain(other, monkeypatch, child=False)

    class Dying(_Counted):
        def read(self, timeout_s: float | None = None):
            if _Counted.answers == 5:  # mid-session: its first batches are staged here
                self._proc.kill()
                self._proc.wait()
            return super().read(timeout_s)

    monkeypatch.setattr(ahead, "Child", Dying)
    beside, beside_states = _drain(one, monkeypatch, child=True)
    assert len(counted.made) == 1 and counted.answers >= 5  # and what it wrote before
    assert counted.made[0]._proc.returncode == -signal.SIGKILL
    assert _by_id(beside) == _by_id(alone) and len(beside) == expected
    assert beside_states == alone_states
    spool = paths.spool_dir(one)
    assert not [p for p in spool.iterdir() if p.name.endswith(".staged")]


def test_a_second_process_only_for_a_backlog_and_a_free_core(monkeypatch):
    monkeypatch.setattr(cores, "free", lambda: 1.0)
    assert ahead.worth_it(ahead.MIN_SESSIONS)
    assert not ahead.worth_it(ahead.MIN_SESSIONS - 1)  # its start costs more than it saves
    monkeypatch.setattr(cores, "free", lambda: 0.5)  # the other jobs keep the cores busy
    assert not ahead.worth_it(10 * ahead.MIN_SESSIONS)


def test_a_second_process_that_cannot_start_leaves_the_backlog_to_the_worker(backlog, monkeypatch):
    one, other, expected = backlog
    alone, alone_states = _drain(other, monkeypatch, child=False)

    def refused(home: Path) -> ahead.Child:
        raise OSError(11, "Resource temporarily unavailable")  # fork refused: no process left

    monkeypatch.setattr(ahead, "Child", refused)
    beside, beside_states = _drain(one, monkeypatch, child=True)
    assert _by_id(beside) == _by_id(alone) and len(beside) == expected
    assert beside_states == alone_states
    log = (paths.logs_dir(one) / "staso.log").read_text()
    assert "reducing here: no second process" in log
