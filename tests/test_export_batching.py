"""Several spool batches go out in one request, and each is deleted only once accepted.

The worker spools one batch per session and journal read; sent one request each, a
backlog of a hundred sessions was a hundred requests where a BatchSpanProcessor sends a
few. These drive `Pipeline.send_spool` against a real receiver on 127.0.0.1.
"""

from __future__ import annotations

from collections import Counter

import pytest
from otlp_receiver import Receiver, decode

from staso_otel import settings
from staso_otel.export import otlp
from staso_otel.export.spool import Spool
from staso_otel.pipeline import worker
from staso_otel.span.model import SpanData

SPANS_PER_BATCH = 4


def _spool_batches(count: int, text: str = "x" * 200) -> Spool:
    spool = Spool()
    for b in range(count):
        spans = [
            SpanData(
                trace_id=1000 + b,
                span_id=b * 100 + i + 1,
                parent_span_id=None,
                name=f"batch {b} span {i}",
                kind="INTERNAL",
                start_ns=1_700_000_000_000_000_000 + i,
                end_ns=1_700_000_000_000_000_100 + i,
                attributes={"input.value": text, "n": i},
                target="codex",
            )
            for i in range(SPANS_PER_BATCH)
        ]
        spool.write(f"codex.session{b:03d}.{0:014d}", spans)
    return spool


def _pipeline(endpoint: str) -> worker.Pipeline:
    return worker.Pipeline(settings=settings.load(overrides={"endpoint": endpoint}))


def _send_once(endpoint: str) -> tuple[int, bool]:
    """One `send_spool` pass of a fresh worker pipeline: (spans sent, waiting)."""
    pipeline = _pipeline(endpoint)
    try:
        return pipeline.send_spool()
    finally:
        pipeline.close()


def _ids(rec: Receiver) -> Counter:
    return Counter((s["trace_id"], s["span_id"]) for s in rec.spans)


def test_due_batches_share_one_request(receiver: Receiver):
    spool = _spool_batches(6)
    sent, waiting = _send_once(receiver.endpoint)
    assert (sent, waiting) == (6 * SPANS_PER_BATCH, False)
    assert len(receiver.requests) == 1
    assert len(receiver.spans) == 6 * SPANS_PER_BATCH and max(_ids(receiver).values()) == 1
    assert spool.usage()["batches"] == 0


def test_a_group_stays_under_the_request_size_cap(receiver: Receiver, monkeypatch):
    spool = _spool_batches(5)
    per_batch = otlp.estimate_bytes(spool.load(next(spool.batches())).spans)
    monkeypatch.setattr(otlp, "MAX_GROUP_BYTES", per_batch * 2)  # two batches a request
    sent, _ = _send_once(receiver.endpoint)
    assert sent == 5 * SPANS_PER_BATCH
    assert [len(decode(r["body"])) for r in receiver.requests] == [8, 8, 4]
    assert max(_ids(receiver).values()) == 1


def test_a_refused_group_parks_each_batch_and_loses_nothing():
    rec = Receiver(mode="401").start()
    try:
        spool = _spool_batches(3)
        sent, _ = _send_once(rec.endpoint)
        assert sent == 0
        usage = spool.usage()
        assert usage["parked_batches"] == 3 and usage["parked_spans"] == 3 * SPANS_PER_BATCH
        rec.mode = "ok"
        report = worker.drain(settings=settings.load(overrides={"endpoint": rec.endpoint}))
        assert report.spans_sent == 3 * SPANS_PER_BATCH and report.parked_spans == 0
        assert len(rec.spans) == 3 * SPANS_PER_BATCH and max(_ids(rec).values()) == 1
    finally:
        rec.stop()


@pytest.mark.parametrize("failure", [503, 429])
def test_a_group_that_must_be_retried_keeps_every_batch(failure: int):
    answers = iter([failure])
    rec = Receiver(mode=lambda n: next(answers, 200)).start()
    try:
        spool = _spool_batches(4)
        pipeline = _pipeline(rec.endpoint)
        try:
            sent, waiting = pipeline.send_spool()
            assert (sent, waiting) == (0, True)
            assert spool.usage()["spans"] == 4 * SPANS_PER_BATCH  # nothing deleted
            attempts = sorted(spool.load(p).attempts for p in spool.batches())
            assert attempts == [0, 0, 0, 1]  # one backoff, as for a single batch
            pipeline.blocked_until_ns = 0
            sent, waiting = pipeline.send_spool(force=True)
        finally:
            pipeline.close()
        assert (sent, waiting) == (4 * SPANS_PER_BATCH, False)
        assert len(rec.requests) == 2
        assert len(rec.spans) == 4 * SPANS_PER_BATCH and max(_ids(rec).values()) == 1
        assert spool.usage()["batches"] == 0
    finally:
        rec.stop()


def test_a_group_too_large_for_the_backend_is_sent_batch_by_batch():
    # the backend takes one batch per request (about 1.3 KB), not two together
    rec = Receiver(mode="413", max_body=2000).start()
    try:
        spool = _spool_batches(3)
        sent, _ = _send_once(rec.endpoint)
        assert sent == 3 * SPANS_PER_BATCH
        assert rec.requests[0]["bytes"] > 2000  # the whole group was refused first
        assert len(rec.requests) == 4
        assert len(rec.spans) == 3 * SPANS_PER_BATCH and max(_ids(rec).values()) == 1
        assert spool.usage()["batches"] == 0
    finally:
        rec.stop()


def test_a_group_stays_under_the_span_count_cap(receiver: Receiver, monkeypatch):
    # what bounds the worker's memory while it encodes a backlog's requests
    monkeypatch.setattr(otlp, "MAX_REQUEST_SPANS", 2 * SPANS_PER_BATCH)
    _spool_batches(5)
    sent, _ = _send_once(receiver.endpoint)
    assert sent == 5 * SPANS_PER_BATCH
    assert [len(decode(r["body"])) for r in receiver.requests] == [8, 8, 4]
