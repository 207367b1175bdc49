"""What the collector answers, and what staso does about it: redirects are not deliveries,
one retry policy (staso's, honouring Retry-After) instead of two stacked ones, TLS
failures named as such, the CA bundle setting honoured. Real sessions through the real
hooks' record path, a real OTLP/HTTP(S) receiver on 127.0.0.1."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time

import pytest
from otlp_receiver import Receiver
from pipeline_helpers import record_fixture, run_staso

from staso_otel import settings
from staso_otel.export.spool import Spool
from staso_otel.pipeline import worker

TOUR_SPANS = 16


def _drain(endpoint: str) -> worker.DrainReport:
    return worker.drain(settings=settings.load(overrides={"endpoint": endpoint}))


def _env(**extra: str) -> dict[str, str]:
    env = {**os.environ, **extra}
    env.pop("STASO_RAISE_INTERNAL", None)  # as in the field: one line, not a traceback
    return env


@pytest.mark.parametrize("code", [301, 302, 307, 308])
def test_a_redirect_is_not_a_delivery(isolated_homes, code):
    """The SDK exporter counts any status below 400 as SUCCESS; a 3xx delivered nothing."""
    rec = Receiver(mode=lambda n: (code, {"Location": "/somewhere-else"})).start()
    try:
        record_fixture("tour_resume", isolated_homes["codex"])
        report = _drain(rec.endpoint)
        assert rec.requests, "nothing was tried"
        assert report.spans_sent == 0
        usage = Spool().usage()
        assert usage["spans"] + usage["parked_spans"] == TOUR_SPANS  # kept, not deleted
        assert any(f"HTTP {code}" in e and "/somewhere-else" in e for e in report.errors)
        # and `staso flush` says so, with a non-zero exit
        flushed = run_staso("flush", env=_env(STASO_ENDPOINT=rec.endpoint))
        assert flushed.returncode == 1
        assert f"HTTP {code}" in flushed.stdout and "spool empty" not in flushed.stdout
        rec.mode = "ok"
        report = _drain(rec.endpoint)
        assert report.spans_left == report.parked_spans == 0
        assert len(rec.spans) == TOUR_SPANS
    finally:
        rec.stop()


def test_one_export_attempt_is_one_request_and_retry_after_sets_the_next(isolated_homes):
    """One retry layer: the SDK exporter used to retry inside one export (a 503 cost
    several requests and seconds) before staso's own backoff started."""
    rec = Receiver(mode=lambda n: (503, {"Retry-After": "7"})).start()
    try:
        record_fixture("tour_resume", isolated_homes["codex"])
        before = time.time_ns()
        report = _drain(rec.endpoint)
        assert len(rec.requests) == 1
        assert report.spans_left == TOUR_SPANS
        (path,) = Spool().batches()
        batch = Spool().load(path)
        assert batch is not None and batch.attempts == 1
        assert batch.next_attempt_ns - before >= 7 * 10**9  # the server's Retry-After
        assert "HTTP 503" in (batch.last_error or "")
        # a worker pass before that time does not send
        pipeline = worker.Pipeline(settings=settings.load(overrides={"endpoint": rec.endpoint}))
        try:
            assert pipeline.send_spool() == (0, True)
        finally:
            pipeline.close()
        assert len(rec.requests) == 1
    finally:
        rec.stop()


def test_a_dropped_connection_is_one_attempt_too(isolated_homes, monkeypatch):
    """Connection errors were retried by the SDK with its own backoff until its timeout."""
    monkeypatch.setenv("STASO_EXPORT_TIMEOUT", "8")
    listener = socket.create_server(("127.0.0.1", 0))
    accepted = []

    def serve() -> None:  # accept, read a little, hang up without an answer
        with contextlib.suppress(OSError):
            while True:
                conn, _ = listener.accept()
                accepted.append(conn)
                conn.recv(1024)
                conn.close()

    threading.Thread(target=serve, daemon=True).start()
    try:
        record_fixture("tour_resume", isolated_homes["codex"])
        report = _drain(f"http://127.0.0.1:{listener.getsockname()[1]}/v1/traces")
        assert report.spans_left == TOUR_SPANS
        assert len(accepted) == 1
        assert any("127.0.0.1 closed the connection" in e for e in report.errors), report.errors
    finally:
        listener.close()


def test_tls_failure_is_named_and_status_does_not_claim_reachable(isolated_homes, certs):
    rec = Receiver(tls=(str(certs["cert"]), str(certs["key"]))).start()
    try:
        record_fixture("tour_resume", isolated_homes["codex"])
        report = _drain(rec.endpoint)
        assert report.spans_left == TOUR_SPANS and not rec.spans
        assert any("certificate verify failed for 127.0.0.1" in e for e in report.errors)
        status = run_staso("status", "--target", "codex", env=_env(STASO_ENDPOINT=rec.endpoint))
        assert status.returncode == 1
        assert "reachable      yes" not in status.stdout
        assert "certificate verify failed for 127.0.0.1" in status.stdout
    finally:
        rec.stop()


def test_ca_bundle_setting_is_honoured_even_with_requests_ca_bundle(
    isolated_homes, certs, monkeypatch
):
    """STASO_CERTIFICATE names the collector's CA; a REQUESTS_CA_BUNDLE set for other tools
    (here: a different CA) used to win inside requests. (OTEL_EXPORTER_OTLP_CERTIFICATE is
    for the OTEL_* endpoint's origin only: docs/settings.md, test_otel_env.py.)"""
    rec = Receiver(tls=(str(certs["cert"]), str(certs["key"]))).start()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certs["other"]))
    monkeypatch.setenv("STASO_CERTIFICATE", str(certs["cert"]))
    try:
        record_fixture("tour_resume", isolated_homes["codex"])
        report = _drain(rec.endpoint)
        assert report.spans_left == 0, report.errors
        assert len(rec.spans) == TOUR_SPANS
        status = run_staso("status", "--target", "codex", env=_env(STASO_ENDPOINT=rec.endpoint))
        assert "reachable      yes" in status.stdout
    finally:
        rec.stop()
