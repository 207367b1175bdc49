"""A large `staso import` rebuilds in a child process while this one ships the spans.

The child (`staso_otel/backfill/child.py`) must change nothing a user can see: the same
spans (tests/test_import_identity.py runs both ways), each once however often the import
runs, and when the child dies mid-import (or mid-session), what it handed over is kept
and the rest of its sessions rebuilt here: every span once, the counts unchanged.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from clone_sessions import clone
from otlp_receiver import Receiver

from staso_otel import cores, settings, subproc
from staso_otel.backfill import child, run, sources

FREE_CORES = cores.free
RECORDINGS = [("codex", "tour_resume"), ("claude-code", "agent")]


@pytest.fixture
def sessions(isolated_homes, monkeypatch) -> Path:
    home = isolated_homes["home"]
    monkeypatch.setenv("CODEX_HOME", str(home / ".codex"))
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(home / ".claude"))
    for n in range(8):
        clone(*RECORDINGS[n % 2], home, n)
    monkeypatch.setattr(child, "MIN_BYTES", 0)  # these few MB: a child all the same
    monkeypatch.setattr(cores, "free", lambda: 2.0)  # whatever the machine's load
    return home


def _rebuild_children() -> list[int]:
    """Pids of this process's children running the rebuild."""
    me = os.getpid()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                cmd = fh.read()
        except OSError:
            continue
        if ppid == me and b"staso_otel.backfill.child" in cmd:
            found.append(int(entry))
    return found


def test_the_rebuild_runs_in_a_child_and_a_second_import_sends_nothing(
    sessions, tmp_path, monkeypatch
):
    monkeypatch.setattr(child, "PIPE_BYTES", 4096)  # the child waits: alive at the first
    receiver = Receiver().start()
    seen: list[list[int]] = []
    try:
        st = settings.load(overrides={"endpoint": receiver.endpoint})
        found = sources.find(sources.TARGETS)
        assert child.worth_it(found.sessions)
        first = run.run(
            found,
            settings=st,
            home=tmp_path / "h",
            progress=lambda r, s: seen.append(_rebuild_children()),
        )
        again = run.run(sources.find(sources.TARGETS), settings=st, home=tmp_path / "h")
    finally:
        receiver.stop()
    # one child (it may have finished when the last sessions are shipped here)
    assert len(seen) == 8 and len(seen[0]) == 1 and all(len(p) <= 1 for p in seen), seen
    assert not first.skipped and not first.errors, first
    assert first.sessions == 8 and first.turns > 0
    assert first.spans == first.spans_sent == len(receiver.spans) > 50
    assert again.spans == again.spans_sent == 0 and again.already > 0
    ids = [s["span_id"] for s in receiver.spans]
    assert len(ids) == len(set(ids))


def _import_cut(home: Path, endpoint: str, **kw) -> run.Report:
    st = settings.load(overrides={"endpoint": endpoint})
    return run.run(sources.find(sources.TARGETS), settings=st, home=home, **kw)


def _assert_whole(
    cut: run.Report, received: list[dict], undisturbed: run.Report, its_spans: list[dict]
) -> None:
    """Every span once, the report's counts those of an import no child disturbed."""
    ids = [s["span_id"] for s in received]
    assert len(ids) == len(set(ids))  # nothing twice
    assert sorted(ids) == sorted(s["span_id"] for s in its_spans)  # and nothing lost
    assert not cut.skipped and not cut.errors, cut
    counts = (cut.sessions, cut.turns, cut.spans, cut.already)
    assert counts == (undisturbed.sessions, undisturbed.turns, undisturbed.spans, 0)
    assert cut.spans == cut.spans_sent == len(received)


def test_a_child_killed_mid_import_has_its_sessions_rebuilt_here(sessions, tmp_path, monkeypatch):
    # a pipe of one page: the child, ahead of this process, waits on it mid-import, so it
    # is alive when the first session is done here (a wide pipe could hold all of it)
    monkeypatch.setattr(child, "PIPE_BYTES", 4096)
    whole, receiver = Receiver().start(), Receiver().start()
    killed: list[int] = []

    def kill_after_the_first(report: run.Report, session: sources.Session) -> None:
        if report.sessions == 1:
            for pid in _rebuild_children():
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)

    try:
        cut = _import_cut(tmp_path / "h", receiver.endpoint, progress=kill_after_the_first)
        again = _import_cut(tmp_path / "h", receiver.endpoint)
        ref = _import_cut(tmp_path / "ref", whole.endpoint)
    finally:
        whole.stop()
        receiver.stop()
    assert len(killed) == 1
    _assert_whole(cut, receiver.spans, ref, whole.spans)
    assert again.spans == 0 and again.already > 0


def test_a_child_gone_mid_session_loses_none_of_it_and_sends_none_of_it_twice(
    sessions, tmp_path, monkeypatch
):
    """The child handed over part of a session (its first batch of spans) and died: the
    session is rebuilt here without the units it had handed over, which are counted once."""
    shipped: list[int] = []

    class GoneMidSession(subproc.Helper):
        def read(self, timeout_s: float) -> object | None:
            if shipped:  # after its first batch: killed, and its pipe's rest unread
                self._proc.kill()
                return None
            message = super().read(timeout_s)
            if isinstance(message, tuple) and message[0] == "spans":
                shipped.extend(s.span_id for s in message[1])
            return message

    monkeypatch.setattr(subproc, "Helper", GoneMidSession)
    monkeypatch.setattr(child, "WINDOW", 8)  # all of them the child's: none done here
    monkeypatch.setattr(cores, "free", lambda: 2.0)
    whole, receiver = Receiver().start(), Receiver().start()
    try:
        cut = _import_cut(tmp_path / "h", receiver.endpoint)
        ref = _import_cut(tmp_path / "ref", whole.endpoint)
    finally:
        whole.stop()
        receiver.stop()
    assert shipped
    _assert_whole(cut, receiver.spans, ref, whole.spans)


def test_a_dry_run_rebuilds_on_two_cores_too(sessions, tmp_path, monkeypatch):
    started: list[subproc.Helper] = []

    class Counted(subproc.Helper):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            started.append(self)

    monkeypatch.setattr(subproc, "Helper", Counted)
    found = sources.find(sources.TARGETS)
    report = run.run(found, settings=settings.load(), home=tmp_path / "h", dry_run=True)
    assert len(started) == 1  # nothing to send beside, but a core to rebuild on
    assert report.sessions == 8 and report.spans > 50 and not report.skipped


def test_no_child_without_a_free_core(sessions, monkeypatch):
    found = sources.find(sources.TARGETS).sessions
    assert child.worth_it(found)
    monkeypatch.setattr(cores, "free", FREE_CORES)  # the machine's own, again
    count = cores.count()
    monkeypatch.setattr(cores, "others_running", lambda: count - 0.5)
    assert not child.worth_it(found)  # the others keep the cores busy
    monkeypatch.setattr(cores, "others_running", lambda: 0.0)
    assert child.worth_it(found) == (count >= 2)


def test_a_core_free_now_is_used_whatever_the_last_minute_held(tmp_path, monkeypatch):
    """The decision reads the tasks runnable now: the 1-minute load average still counts
    a build, or an earlier import, that ended seconds ago."""
    loadavg = tmp_path / "loadavg"
    monkeypatch.setattr(cores, "LOADAVG", str(loadavg))
    monkeypatch.setattr(os, "getloadavg", lambda: (5.0, 4.0, 3.0))
    loadavg.write_text("5.00 4.00 3.00 1/214 9071\n")  # only the reader runs now
    assert cores.others_running() == 0
    loadavg.write_text("5.00 4.00 3.00 4/214 9071\n")
    assert cores.others_running() == 3
    monkeypatch.setattr(cores, "LOADAVG", str(tmp_path / "missing"))  # not Linux
    assert cores.others_running() == 5.0
    monkeypatch.setattr(cores, "LOADAVG", "/proc/loadavg")
    if Path("/proc/loadavg").exists():
        assert 0 <= cores.others_running() < 1000
