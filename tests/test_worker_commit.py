"""A session's batches are durable before its journal offset moves, with the commits on
the worker's commit thread (pipeline/commit.py): a batch that cannot be made durable, and
a worker killed -9 in the middle of a pass, lose nothing and leave no staged files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from clone_sessions import journal_tours
from otlp_receiver import Receiver
from pipeline_helpers import record_fixture

from staso_otel import paths, settings
from staso_otel.export import spool as spool_mod
from staso_otel.pipeline import worker
from staso_otel.record import state

TOUR_SPANS = 16


def _unique(spans: list[dict]) -> set[tuple[str, str]]:
    return {(s["trace_id"], s["span_id"]) for s in spans}


def _staged(home: Path) -> list[str]:
    root = paths.spool_dir(home)
    return sorted(p.name for p in root.iterdir() if p.name.endswith(spool_mod.STAGED_SUFFIX))


def _offset(home: Path, journal: Path) -> int:
    with state.locked(state.state_path("codex", journal.name, home)) as st:
        return int(st.get("offset", 0))


def test_a_batch_that_cannot_be_made_durable_leaves_its_offset_unmoved(isolated_homes, monkeypatch):
    monkeypatch.delenv("STASO_RAISE_INTERNAL")  # the failure is logged, as in a real worker
    home = isolated_homes["staso"]
    record_fixture("tour_resume", isolated_homes["codex"])
    record_fixture("hello", isolated_homes["codex"])
    journals = sorted((paths.journal_dir(home) / "codex").glob("*.jsonl"))
    assert len(journals) == 2
    failing = journals[0].stem  # its batch's fsync fails: a disk error, a full disk
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        if failing in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(5, "Input/output error")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    first = worker.drain(send=False)
    assert first.spans_spooled > 0  # the other session's
    assert _offset(home, journals[0]) == 0  # not durable: its records are read again
    assert _offset(home, journals[1]) == journals[1].stat().st_size
    assert _staged(home) == []  # the failed batch is not left behind
    names = [p.name for p in spool_mod.Spool(home).batches()]
    assert names and not any(failing in n for n in names)

    monkeypatch.setattr(os, "fsync", real_fsync)
    rec = Receiver().start()
    try:
        s = settings.load(overrides={"endpoint": rec.endpoint})
        second = worker.drain(settings=s)
        assert second.spans_spooled == TOUR_SPANS
        expected = first.spans_spooled + TOUR_SPANS
        assert len(_unique(rec.spans)) == len(rec.spans) == expected
        assert second.spans_left == 0
    finally:
        rec.stop()


@pytest.mark.parametrize("after_batches", [1, 12])
def test_a_worker_killed_mid_pass_loses_nothing_and_leaves_no_staged_files(
    isolated_homes, tmp_path, after_batches
):
    home = isolated_homes["staso"]
    expected = journal_tours(home, tmp_path / "agents", 40)
    refusing = Receiver(mode="503").start()  # nothing is delivered before the kill
    env = {**os.environ, "STASO_ENDPOINT": refusing.endpoint, "STASO_WORKER_IDLE_SECONDS": "30"}
    env.pop("STASO_RAISE_INTERNAL", None)
    spool_dir = paths.spool_dir(home)
    proc = subprocess.Popen([sys.executable, "-m", "staso_otel.pipeline.worker"], env=env)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if spool_dir.is_dir() and len(list(spool_dir.glob("*.batch"))) >= after_batches:
                break
            time.sleep(0.002)
        proc.send_signal(signal.SIGKILL)  # mid-pass: sessions staged, committed, unread
        proc.wait(timeout=30)
    finally:
        refusing.stop()
    assert not refusing.spans
    rec = Receiver().start()
    try:
        report = worker.drain(settings=settings.load(overrides={"endpoint": rec.endpoint}))
        assert report.spans_left == 0
        assert len(_unique(rec.spans)) == len(rec.spans) == expected
        assert _staged(home) == []
    finally:
        rec.stop()
