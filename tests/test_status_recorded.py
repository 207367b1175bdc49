"""`staso status` says when what the hooks record is not being read.

A worker that cannot start (an interpreter it cannot run, an install it cannot import)
leaves the hooks recording into journals nobody reads: no export, no error, and before
this check a status with nothing to say about it.
"""

from __future__ import annotations

import json
import os
import time

from click.testing import CliRunner
from pipeline_helpers import record_fixture
from staso_cli.main import cli

from staso_otel import paths, status


def _status() -> dict:
    result = CliRunner().invoke(cli, ["status", "--target", "codex", "--json"])
    return json.loads(result.output)


def _age_journals(seconds: float) -> None:
    then = time.time() - seconds
    for journal in (paths.staso_home() / "journal").rglob("*.jsonl"):
        os.utime(journal, (then, then))


def test_journals_no_worker_reads_are_a_problem_once_they_sit(isolated_homes, receiver):
    record_fixture("tour_resume", isolated_homes["codex"])  # recorded; no worker ran
    fresh = _status()["recorded"]
    assert fresh["sessions"] == 1 and fresh["bytes"] > 0
    assert fresh["stalled"] is False  # a worker may be on its way

    _age_journals(status.STALLED_AFTER_S + 60)
    stalled = _status()
    assert stalled["recorded"]["stalled"] is True
    assert any("not being read" in p for p in stalled["problems"]), stalled["problems"]

    env = {"STASO_ENDPOINT": receiver.endpoint}
    flushed = CliRunner().invoke(cli, ["flush"], env=env)
    assert flushed.exit_code == 0, flushed.output
    after = _status()
    assert after["recorded"] == {"sessions": 0, "bytes": 0, "last_ns": None, "stalled": False}
    assert not any("not being read" in p for p in after["problems"])


def test_a_running_worker_is_not_a_stall(isolated_homes):
    from staso_otel.pipeline import worker

    record_fixture("hello", isolated_homes["codex"])
    _age_journals(3600)
    with worker.worker_lock(timeout_s=0) as held:  # as a worker busy with them holds it
        assert held
        recorded = _status()["recorded"]
    assert recorded["sessions"] == 1 and recorded["stalled"] is False


def test_a_torn_last_line_alone_is_not_a_stall(isolated_homes, receiver):
    """A hook killed mid-append leaves a line without its newline, which the next worker
    skips: on its own it is no sign of workers that cannot start."""
    record_fixture("hello", isolated_homes["codex"])
    flushed = CliRunner().invoke(cli, ["flush"], env={"STASO_ENDPOINT": receiver.endpoint})
    assert flushed.exit_code == 0, flushed.output
    (journal,) = (paths.staso_home() / "journal").rglob("*.jsonl")
    with open(journal, "ab") as fh:
        fh.write(b'{"received_ns": 1, "payload": {"hook_event_na')
    _age_journals(status.STALLED_AFTER_S + 60)
    report = _status()
    assert report["recorded"]["sessions"] == 0, report["recorded"]
    assert not any("not being read" in p for p in report["problems"])
    with open(journal, "ab") as fh:  # and a whole record after it is one
        fh.write(b'me": "Stop"}}\n')
    _age_journals(status.STALLED_AFTER_S + 60)
    assert _status()["recorded"]["stalled"] is True
