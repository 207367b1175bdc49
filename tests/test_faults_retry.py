"""Spans that can be retried are retried on a schedule while they exist, not only while a
worker happens to linger: the worker stays, asleep, until the next attempt is due (a
Retry-After past a minute, a parked batch's hourly retry). Driven in-process on a virtual
clock, so an hour of waiting takes no time; the collector and the spool are real."""

from __future__ import annotations

import time

import pytest
from otlp_receiver import Receiver
from pipeline_helpers import record_fixture

from staso_otel import settings
from staso_otel.export.spool import Spool
from staso_otel.pipeline import worker

TOUR_SPANS = 16


class Clock:
    """time.monotonic/time/time_ns/sleep for the worker module: sleeping moves it on."""

    def __init__(self) -> None:
        self.now = time.time()
        self.slept = 0.0

    def time(self) -> float:
        return self.now

    def time_ns(self) -> int:
        return int(self.now * 1e9)

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept += seconds
        self.now += seconds


def _work(endpoint: str, monkeypatch: pytest.MonkeyPatch, clock: Clock) -> worker.Pipeline:
    monkeypatch.setenv("STASO_RETRY_LINGER_SECONDS", "86400")  # the default
    monkeypatch.setattr(worker, "time", clock)
    pipeline = worker.Pipeline(settings=settings.load(overrides={"endpoint": endpoint}))
    try:
        worker._work_until_idle(pipeline)  # returns once nothing is left to retry
    finally:
        pipeline.close()
    return pipeline


def test_a_retry_after_beyond_the_linger_is_honoured_by_a_worker_that_stays(
    isolated_homes, monkeypatch
):
    rec = Receiver(mode=lambda n: (503, {"Retry-After": "600"}) if n == 0 else 200).start()
    try:
        record_fixture("tour_resume", isolated_homes["codex"])
        clock = Clock()
        _work(rec.endpoint, monkeypatch, clock)
        assert len(rec.requests) == 2  # the refusal, then one retry
        assert len(rec.spans) == TOUR_SPANS
        assert clock.slept >= 600  # it waited as asked, not less
        assert Spool().usage()["spans"] == 0
    finally:
        rec.stop()


def test_a_parked_batch_is_retried_hourly_by_the_worker(isolated_homes, monkeypatch):
    rec = Receiver(mode=lambda n: 400 if n == 0 else 200).start()
    try:
        record_fixture("tour_resume", isolated_homes["codex"])
        clock = Clock()
        _work(rec.endpoint, monkeypatch, clock)
        assert len(rec.spans) == TOUR_SPANS  # rejected once, delivered an hour later
        assert 3600 <= clock.slept < 2 * 3600
        usage = Spool().usage()
        assert usage["spans"] == usage["parked_spans"] == 0
    finally:
        rec.stop()


def test_the_worker_still_exits_when_nothing_waits(receiver, isolated_homes, monkeypatch):
    record_fixture("tour_resume", isolated_homes["codex"])
    clock = Clock()
    _work(receiver.endpoint, monkeypatch, clock)
    assert len(receiver.spans) == TOUR_SPANS
    assert clock.slept < 60  # idle seconds, not the retry linger


def test_a_waiting_worker_exits_once_its_home_is_removed(isolated_homes, monkeypatch):
    """A worker asleep towards a retry must not outlive its STASO_HOME (uninstall --purge,
    a scratch home): with the spool gone it has nothing left to send. (A guard: lingering
    workers were seen after a benchmark removed their homes.)"""
    import shutil
    import subprocess
    import sys

    rec = Receiver(mode=lambda n: (503, {"Retry-After": "600"})).start()
    try:
        record_fixture("hello", isolated_homes["codex"])
        env = {
            **__import__("os").environ,
            "STASO_ENDPOINT": rec.endpoint,
            "STASO_RETRY_LINGER_SECONDS": "86400",
            "STASO_RAISE_INTERNAL": "0",
        }
        proc = subprocess.Popen([sys.executable, "-m", "staso_otel.pipeline.worker"], env=env)
        try:
            deadline = time.monotonic() + 60
            while not rec.requests and time.monotonic() < deadline:
                time.sleep(0.1)
            assert rec.requests, "the worker never tried to send"
            # the answer is handled (retry scheduled, status written) before the home goes:
            # removing it while those writes are in flight races the test's own rmtree
            status = isolated_homes["staso"] / "run" / "status.json"
            while "last_error" not in _read(status) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert proc.poll() is None  # asleep towards the Retry-After
            for _ in range(20):  # a log line written at the very moment: remove it too
                try:
                    shutil.rmtree(isolated_homes["staso"])
                    break
                except OSError:
                    time.sleep(0.1)
            assert not isolated_homes["staso"].exists()
            assert proc.wait(timeout=30) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
    finally:
        rec.stop()


def _read(path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""
