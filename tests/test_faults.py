"""Fault injection: hanging and flapping collectors, a worker killed mid-export,
concurrent sessions with parallel tool hooks. The goal in every case: nothing lost."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from otlp_receiver import Receiver
from pipeline_helpers import record_fixture, run_hook_process
from replay import FIXTURES_CODEX, load_events

from staso_otel import paths, settings
from staso_otel.export.spool import Spool
from staso_otel.pipeline import worker

TOUR_SPANS = 16


def _unique(spans: list[dict]) -> set[tuple[str, str]]:
    return {(s["trace_id"], s["span_id"]) for s in spans}


def test_hanging_collector_times_out_and_keeps_the_spans(isolated_homes, monkeypatch):
    monkeypatch.setenv("STASO_EXPORT_TIMEOUT", "1")
    rec = Receiver(mode="hang", hang_s=5).start()
    try:
        record_fixture("tour_resume", isolated_homes["codex"])
        started = time.monotonic()
        report = worker.drain(settings=settings.load(overrides={"endpoint": rec.endpoint}))
        assert time.monotonic() - started < 60  # bounded by the export timeout, not the hang
        assert report.spans_sent == 0 and report.spans_left == TOUR_SPANS
    finally:
        rec.mode = "ok"
        rec.stop()


def test_flapping_collector_loses_nothing(isolated_homes, monkeypatch):
    monkeypatch.setenv("STASO_EXPORT_TIMEOUT", "1")
    # refuse every other request (503), on and off
    rec = Receiver(mode=lambda n: 503 if n % 2 == 0 else 200).start()
    try:
        for name in ("tour_resume", "parallel", "mcp", "hello"):
            record_fixture(name, isolated_homes["codex"])
        s = settings.load(overrides={"endpoint": rec.endpoint})
        expected = worker.drain(settings=s, send=False).spans_spooled
        for _ in range(30):
            if worker.drain(settings=s).spans_left == 0:
                break
        assert len(_unique(rec.spans)) == expected
        assert len(rec.spans) == expected  # and none twice
    finally:
        rec.stop()


def test_worker_killed_mid_export_then_restarted_delivers_everything(isolated_homes):
    rec = Receiver(mode="hang", hang_s=30).start()
    env = {
        **os.environ,
        "STASO_ENDPOINT": rec.endpoint,
        "STASO_WORKER_IDLE_SECONDS": "0.5",
        "STASO_EXPORT_TIMEOUT": "20",
    }
    env.pop("STASO_RAISE_INTERNAL", None)
    try:
        record_fixture("tour_resume", isolated_homes["codex"])
        proc = subprocess.Popen([sys.executable, "-m", "staso_otel.pipeline.worker"], env=env)
        deadline = time.monotonic() + 30
        while not rec.requests and time.monotonic() < deadline:
            time.sleep(0.05)
        assert rec.requests, "the worker never tried to export"
        proc.send_signal(signal.SIGKILL)  # mid-request: the receiver is still hanging
        proc.wait(timeout=30)
        assert Spool().usage()["spans"] == TOUR_SPANS  # the batch survived the kill
        rec.mode = "ok"
        restarted = subprocess.run(
            [sys.executable, "-m", "staso_otel.pipeline.worker"], env=env, timeout=120
        )
        assert restarted.returncode == 0
        assert rec.wait_for(lambda s: len(_unique(s)) == TOUR_SPANS, timeout_s=60)
        assert Spool().usage()["spans"] == 0
    finally:
        rec.stop()


def test_eight_concurrent_sessions_with_parallel_tool_hooks(receiver, isolated_homes):
    """8 sessions at once through the real hook processes (the fixture `parallel` has two
    tool calls whose hooks run concurrently); the worker the hooks spawn exports all."""
    env = {**os.environ, "STASO_ENDPOINT": receiver.endpoint, "STASO_WORKER_IDLE_SECONDS": "1"}
    env.pop("STASO_RAISE_INTERNAL", None)
    codex_home = isolated_homes["codex"]
    sessions = []
    for n in range(8):
        events = load_events(FIXTURES_CODEX / "parallel", codex_home)
        for _, payload in events:
            payload["session_id"] = f"{payload['session_id']}-{n}"
        sessions.append(events)
    fixture_rollouts = FIXTURES_CODEX / "parallel" / "sessions"
    import shutil

    shutil.copytree(fixture_rollouts, codex_home / "sessions", dirs_exist_ok=True)

    def hook(payload: dict) -> None:
        run_hook_process("codex", json.dumps(payload).encode(), env)

    def play(events: list) -> None:
        i = 0
        while i < len(events):
            payload = events[i][1]
            nxt = events[i + 1][1] if i + 1 < len(events) else None
            # two tool hooks in a row of the same kind: run them at the same time
            if (
                nxt
                and payload["hook_event_name"] == nxt["hook_event_name"]
                and payload["hook_event_name"] in ("PreToolUse", "PostToolUse")
            ):
                with ThreadPoolExecutor(2) as pool:
                    list(pool.map(hook, [payload, nxt]))
                i += 2
                continue
            hook(payload)
            i += 1

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(play, sessions))  # each hook exited 0, else this raises
    report = worker.drain(settings=settings.load(overrides={"endpoint": receiver.endpoint}))
    assert report.spans_left == 0
    roots = [s for s in receiver.spans if s["name"] == "invoke_agent codex"]
    assert len({r["attributes"]["session.id"] for r in roots}) == 8
    by_session: dict[str, int] = {}
    for span in receiver.spans:
        by_session[span["attributes"]["session.id"]] = (
            by_session.get(span["attributes"]["session.id"], 0) + 1
        )
    assert len(set(by_session.values())) == 1  # every session complete and alike
    assert len(receiver.spans) == len(_unique(receiver.spans))


@pytest.mark.parametrize("kind", ["state", "spool"])
def test_symlinked_state_and_spool_paths_are_refused(isolated_homes, tmp_path, kind):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    folder = paths.state_dir() if kind == "state" else paths.spool_dir()
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.symlink_to(elsewhere)
    record_fixture("hello", isolated_homes["codex"])
    os.environ.pop("STASO_RAISE_INTERNAL", None)
    try:
        worker.drain(
            settings=settings.load(overrides={"endpoint": "http://127.0.0.1:9"}), send=False
        )
    except PermissionError:
        pass
    finally:
        os.environ["STASO_RAISE_INTERNAL"] = "1"
    assert list(elsewhere.iterdir()) == []  # nothing written through the link
    log_text = (paths.logs_dir() / "staso.log").read_text()
    assert "symlink" in log_text


def test_state_files_are_private(isolated_homes):
    record_fixture("hello", isolated_homes["codex"])
    worker.drain(settings=settings.load(overrides={"endpoint": "http://127.0.0.1:9"}), send=False)
    for folder in (paths.state_dir(), paths.journal_dir(), paths.run_dir(), paths.spool_dir()):
        assert folder.stat().st_mode & 0o777 == 0o700, folder
        for path in Path(folder).rglob("*"):
            if path.is_file():
                assert path.stat().st_mode & 0o777 == 0o600, path
