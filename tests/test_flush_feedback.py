"""`staso flush` while the collector is down: it says what it waits for, stops at
--timeout, and names the real cause (connection refused at the endpoint), not the lock."""

from __future__ import annotations

import json
import os
import socket
import threading

import pytest
from pipeline_helpers import record_fixture, run_staso

from staso_otel.pipeline import worker


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def down(isolated_homes):
    """A recorded session and an endpoint where nothing listens."""
    record_fixture("tour_resume", isolated_homes["codex"])
    endpoint = f"http://127.0.0.1:{closed_port()}"
    env = {**os.environ, "STASO_ENDPOINT": endpoint, "STASO_NO_WORKER": "1"}
    return endpoint, env


def test_flush_names_connection_refused_at_the_endpoint(down):
    endpoint, env = down
    proc = run_staso("flush", env=env)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    out = proc.stdout + proc.stderr
    assert f"connection refused at {endpoint}/v1/traces" in out
    assert "lock" not in out


def test_flush_waiting_for_a_busy_worker_says_so_and_stops_at_the_timeout(down):
    endpoint, env = down
    held, release = threading.Event(), threading.Event()

    def busy_worker() -> None:
        with worker.worker_lock(timeout_s=5) as got:
            assert got
            held.set()
            release.wait(60)

    thread = threading.Thread(target=busy_worker)
    thread.start()
    try:
        assert held.wait(10)
        proc = run_staso("flush", "--timeout", "1", env=env)
    finally:
        release.set()
        thread.join(10)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "waiting up to 1s for the background worker" in proc.stderr
    assert f"connection refused at {endpoint}/v1/traces" in proc.stdout + proc.stderr


def test_flush_json_gives_typed_counts(down):
    endpoint, env = down
    proc = run_staso("flush", "--json", env=env)
    assert proc.returncode == 1
    report = json.loads(proc.stdout)
    assert isinstance(report["spans_sent"], int) and report["spans_sent"] == 0
    assert isinstance(report["spans_left"], int) and report["spans_left"] > 0
    assert report["endpoint"] == f"{endpoint}/v1/traces"
    assert report["cause"] == f"connection refused at {endpoint}/v1/traces"


@pytest.mark.parametrize("bad", ["-1", "soon"])
def test_flush_refuses_a_bad_timeout(bad, isolated_homes):
    proc = run_staso("flush", "--timeout", bad, env=dict(os.environ))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "--timeout" in proc.stderr.strip().splitlines()[-1]
