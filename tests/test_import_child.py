"""A large `staso import` rebuilds in a child process while this one ships the spans.

The child (`staso_otel/backfill/child.py`) must change nothing a user can see: the same
spans (tests/test_import_identity.py runs both ways), each once however often the import
runs, and when the child dies mid-import, what it handed over is kept, every session it
had not finished is reported skipped, and the next import sends exactly the rest.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from clone_sessions import clone
from otlp_receiver import Receiver

from staso_otel import cores, settings
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
        assert child.worth_it(found.sessions, dry_run=False)
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


def test_a_child_killed_mid_import_skips_the_rest_and_loses_nothing(
    sessions, tmp_path, monkeypatch
):
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
        home = tmp_path / "h"
        st = settings.load(overrides={"endpoint": receiver.endpoint})
        cut = run.run(
            sources.find(sources.TARGETS), settings=st, home=home, progress=kill_after_the_first
        )
        rest = run.run(sources.find(sources.TARGETS), settings=st, home=home)
        ref = settings.load(overrides={"endpoint": whole.endpoint})
        run.run(sources.find(sources.TARGETS), settings=ref, home=tmp_path / "ref")
    finally:
        whole.stop()
        receiver.stop()
    assert len(killed) == 1
    why = [s["why"] for s in cut.skipped]
    assert why and all(w.startswith("not rebuilt: the rebuild process ended") for w in why), why
    assert 1 <= cut.sessions < 8 and len(why) == 8 - cut.sessions
    assert not rest.skipped and rest.spans > 0
    ids = [s["span_id"] for s in receiver.spans]
    assert len(ids) == len(set(ids))  # nothing twice
    assert sorted(ids) == sorted(s["span_id"] for s in whole.spans)  # and nothing lost


def test_no_child_without_a_free_core_nor_for_a_dry_run(sessions, monkeypatch):
    found = sources.find(sources.TARGETS).sessions
    assert child.worth_it(found, dry_run=False)
    assert not child.worth_it(found, dry_run=True)  # no send to run beside
    monkeypatch.setattr(cores, "free", FREE_CORES)  # the machine's own, again
    count = cores.count()
    monkeypatch.setattr(cores, "others_running", lambda: count - 0.5)
    assert not child.worth_it(found, dry_run=False)  # the others keep the cores busy
    monkeypatch.setattr(cores, "others_running", lambda: 0.0)
    assert child.worth_it(found, dry_run=False) == (count >= 2)


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
