"""The worker sends committed batches while it reduces the next sessions.

A fresh worker with a backlog used to reduce every session, then send, waiting on the
backend once per request with nothing else to do. Now the request for a full group of
durable batches is written between two sessions and its answer read once it has come.
These check that it overlaps, and that the spool's bookkeeping stays what `send_spool`
guarantees: a batch is durable before it is sent and deleted only after a 2xx, a failure
defers it with its backoff (Retry-After honoured) and holds back the rest, a kill mid-send
loses nothing, and nothing arrives twice.
"""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from clone_sessions import journal_tours
from otlp_receiver import Receiver

from staso_otel import settings
from staso_otel.export.spool import Spool
from staso_otel.hook import spawn
from staso_otel.pipeline import worker

SESSIONS = 30  # 16 spans each: several request groups (otlp.MAX_GROUP_BYTES)


def _journal(homes: dict[str, Path], sessions: int = SESSIONS) -> int:
    return journal_tours(homes["staso"], homes["home"], sessions)


def _pipeline(endpoint: str) -> worker.Pipeline:
    return worker.Pipeline(settings=settings.load(overrides={"endpoint": endpoint}))


def _ids(rec: Receiver) -> Counter:
    return Counter((s["trace_id"], s["span_id"]) for s in rec.spans)


def test_the_worker_sends_while_it_still_reduces_sessions(isolated_homes, receiver, monkeypatch):
    """The worker loop's first request goes out before its last session is reduced (it
    used to reduce them all first), and every span arrives once."""
    expected = _journal(isolated_homes)
    monkeypatch.setenv("STASO_WORKER_IDLE_SECONDS", "0.01")  # a pass or two, then it returns
    pipeline = _pipeline(receiver.endpoint)
    order: list[str] = []
    settle = pipeline._settle  # every session, reduced here or by the backlog's child
    monkeypatch.setattr(pipeline, "_settle", lambda *a: order.append("session") or settle(*a))
    request = http.client.HTTPConnection.request
    monkeypatch.setattr(
        http.client.HTTPConnection,
        "request",
        lambda self, *a, **kw: order.append("request") or request(self, *a, **kw),
    )
    try:
        worker._work_until_idle(pipeline)
    finally:
        pipeline.close()
    sessions = [i for i, step in enumerate(order) if step == "session"]
    assert len(sessions) >= SESSIONS and order.count("request") > 1
    assert order.index("request") < sessions[SESSIONS - 1]  # the first pass's last session
    assert len(receiver.spans) == expected
    assert set(_ids(receiver).values()) == {1}  # none twice
    assert Spool().usage()["spans"] == 0


def test_a_503_while_reducing_defers_the_batch_and_the_rest_still_spools(isolated_homes):
    """The first request, sent mid-pass, gets a 503 with Retry-After: that batch is
    deferred by it, no other request follows in the pass, every session is still spooled
    (offsets saved), and once due everything is delivered exactly once."""
    rec = Receiver(mode=lambda n: (503, {"Retry-After": "300"}) if n == 0 else 200).start()
    try:
        expected = _journal(isolated_homes)
        pipeline = _pipeline(rec.endpoint)
        try:
            before = time.time_ns()
            records, spooled = pipeline.process_journals(send=True)
            assert spooled == expected and records > 0
            assert len(rec.requests) == 1 and rec.spans == []
            usage = Spool().usage()
            assert usage["spans"] == expected  # nothing lost, nothing deleted
            spool = Spool()
            headers = [spool._header(path) for path in spool.batches()]
            deferred = [h for h in headers if h.get("attempts")]
            assert len(deferred) == 1  # the group's first batch counts the attempt
            assert deferred[0]["next_attempt_ns"] >= before + 300 * 10**9
            assert "HTTP 503" in deferred[0]["last_error"]
            assert pipeline.blocked_until_ns >= before + 300 * 10**9
            assert pipeline.send_spool() == (0, True)  # still blocked: nothing sent
            assert len(rec.requests) == 1
            later = pipeline.blocked_until_ns + 10**9
            sent, waiting = pipeline.send_spool(now_ns=later)
            assert (sent, waiting) == (expected, False)
        finally:
            pipeline.close()
        assert len(rec.spans) == expected
        assert set(_ids(rec).values()) == {1}
        assert Spool().usage()["spans"] == 0
    finally:
        rec.stop()


def test_a_worker_killed_while_a_request_is_in_flight_loses_nothing(isolated_homes):
    """The first request hangs while the worker reduces the rest of the backlog; it is
    killed then. Every span is in the spool (none deleted unanswered), and the next
    worker delivers each one once."""
    answer = threading.Event()
    rec = Receiver(mode=lambda n: 503 if n == 0 and answer.wait(60) else 200).start()
    env = {
        **os.environ,
        "STASO_ENDPOINT": rec.endpoint,
        "STASO_WORKER_IDLE_SECONDS": "0.5",
        "STASO_EXPORT_TIMEOUT": "30",
    }
    env.pop("STASO_RAISE_INTERNAL", None)
    try:
        expected = _journal(isolated_homes)
        proc = subprocess.Popen([sys.executable, "-m", spawn.WORKER_MODULE], env=env)
        try:
            deadline = time.monotonic() + 60
            while not rec.requests and time.monotonic() < deadline:
                time.sleep(0.02)
            assert rec.requests, "the worker never sent"
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            answer.set()
        assert rec.spans == []
        assert Spool().usage()["spans"] <= expected
        rec.mode = "ok"
        report = worker.drain(settings=settings.load(overrides={"endpoint": rec.endpoint}))
        assert report.spans_left == 0 and not report.errors
        assert len(rec.spans) == expected
        assert set(_ids(rec).values()) == {1}
    finally:
        answer.set()
        rec.stop()
