"""What was lost is said, not only logged: `staso status` and `staso flush` name what the
spool bound dropped, which spool lines were unreadable and what the hook quarantined,
with causes, and exit 1. Real sessions through the hooks' record path, the CLI as a
user runs it."""

from __future__ import annotations

import json
import os

from pipeline_helpers import record_fixture, run_hook_process, run_staso

from staso_otel import paths, settings
from staso_otel.export.spool import Spool
from staso_otel.pipeline import worker

DOWN = "http://127.0.0.1:9/v1/traces"  # nothing listens on loopback's discard port


def _env(**extra: str) -> dict[str, str]:
    env = {**os.environ, **extra}
    env.pop("STASO_RAISE_INTERNAL", None)
    return env


def test_spans_the_spool_bound_dropped_are_reported_with_exit_1(isolated_homes, monkeypatch):
    monkeypatch.setenv("STASO_SPOOL_MAX_BYTES", "20000")
    for name in ("tour_resume", "parallel", "mcp", "hello"):
        record_fixture(name, isolated_homes["codex"])
    worker.drain(settings=settings.load(overrides={"endpoint": DOWN}), send=False)
    env = _env(STASO_ENDPOINT=DOWN, STASO_SPOOL_MAX_BYTES="20000")
    status = run_staso("status", "--target", "codex", env=env)
    assert "dropped (spool over its bound of 20000 bytes)" in status.stdout
    assert status.returncode == 1
    flushed = run_staso("flush", env=env)
    assert flushed.returncode == 1
    assert "spans dropped (spool over its bound of 20000 bytes)" in flushed.stdout
    # reported once: the next flush counts afresh
    again = run_staso("flush", env=env)
    assert "dropped" not in again.stdout


def test_unreadable_spool_lines_are_reported(receiver, isolated_homes):
    record_fixture("tour_resume", isolated_homes["codex"])
    worker.drain(settings=settings.load(overrides={"endpoint": receiver.endpoint}), send=False)
    (path,) = Spool().batches()
    path.write_bytes(path.read_bytes() + b"{not json\n")
    flushed = run_staso("flush", env=_env(STASO_ENDPOINT=receiver.endpoint))
    assert "sent 16 spans" in flushed.stdout
    assert "1 spans dropped (corrupt spool line)" in flushed.stdout
    assert flushed.returncode == 1


def test_quarantined_hook_input_is_reported(receiver, isolated_homes):
    run_hook_process("claude-code", b"{this is not an event", _env(STASO_NO_WORKER="1"))
    status = run_staso("status", "--target", "codex", env=_env(STASO_ENDPOINT=receiver.endpoint))
    assert "1 hook inputs quarantined (not JSON)" in status.stdout
    flushed = run_staso("flush", env=_env(STASO_ENDPOINT=receiver.endpoint))
    assert "1 hook inputs quarantined (not JSON)" in flushed.stdout
    assert flushed.returncode == 1
    again = run_staso("flush", env=_env(STASO_ENDPOINT=receiver.endpoint))
    assert "quarantined" not in again.stdout  # reported once


def test_flush_with_a_symlinked_run_folder_is_one_line(receiver, isolated_homes, tmp_path):
    record_fixture("hello", isolated_homes["codex"])
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    run = paths.run_dir()
    run.parent.mkdir(parents=True, exist_ok=True)
    if run.exists():
        os.rename(run, tmp_path / "old-run")
    run.symlink_to(elsewhere)
    flushed = run_staso("flush", env=_env(STASO_ENDPOINT=receiver.endpoint))
    assert flushed.returncode == 1
    assert "Traceback" not in flushed.stderr
    assert len(flushed.stderr.strip().splitlines()) == 1, flushed.stderr
    assert "symlink" in flushed.stderr
    assert list(elsewhere.iterdir()) == []  # nothing written through the link
    assert json.dumps(receiver.spans) == "[]"
