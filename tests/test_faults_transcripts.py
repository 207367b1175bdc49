"""A transcript_path is a path from a hook payload: the worker opens it as data. A FIFO
there blocked open() forever while the worker held the worker lock, so no session of the
home exported and every `staso flush` waited out its lock timeout."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pipeline_helpers import record_fixture, run_worker_process

from staso_otel.local import replay

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize("target", ["claude-code", "codex"])
def test_a_fifo_as_transcript_blocks_nothing(
    receiver, isolated_homes, tmp_path, monkeypatch, target
):
    monkeypatch.setenv("STASO_NO_WORKER", "1")
    agent_home = tmp_path / "agent"
    folder = "claude-code" if target == "claude-code" else "codex"
    replay.replay(FIXTURES / folder / "hello", agent_home, target=target)
    files = ".claude/projects" if target == "claude-code" else ".codex/sessions"
    for path in sorted((agent_home / files).rglob("*.jsonl")):
        path.unlink()
        os.mkfifo(path)  # nobody ever writes to it
    # and a healthy session in the same home, which must not wait behind it
    record_fixture("tour_resume", isolated_homes["codex"])
    proc = run_worker_process(receiver.endpoint, "blocked on the transcript")
    assert proc.returncode == 0
    sessions = {s["attributes"]["session.id"] for s in receiver.spans}
    assert "01a20a6c-a0fe-7aa0-b7ee-3fc18ef38ae4" in sessions  # tour_resume delivered
    tour = [
        s
        for s in receiver.spans
        if s["attributes"]["session.id"] == "01a20a6c-a0fe-7aa0-b7ee-3fc18ef38ae4"
    ]
    assert len(tour) == 16
    # the FIFO's own session still gives the spans its hooks alone can make
    assert len(sessions) == 2
