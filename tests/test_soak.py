"""Soak runs: long, so excluded by default (`-m 'not soak'` in pyproject). Run them with

    .venv/bin/pytest -m soak -q

Hundreds of sessions of both agents through the hook record path and the worker, against
a collector that fails a third of its requests (500, 429, 503 in turn); the goal is the
same as everywhere: every span delivered once, none lost.
"""

from __future__ import annotations

import os
import time
from collections import Counter

import pytest
from clone_sessions import clone
from otlp_receiver import Receiver

from staso_otel import settings
from staso_otel.export import worker
from staso_otel.hook import main as hook_main

pytestmark = pytest.mark.soak

SESSIONS = int(os.environ.get("STASO_SOAK_SESSIONS", "300"))
FAILURES = (500, 429, 503)


def test_many_sessions_through_a_flaky_collector_lose_nothing(tmp_path, monkeypatch, fast_export):
    monkeypatch.setenv("STASO_NO_WORKER", "1")
    rec = Receiver(mode=lambda n: FAILURES[n // 3 % 3] if n % 3 == 0 else 200).start()
    try:
        for n in range(SESSIONS):
            target, run = ("codex", "tour_resume") if n % 2 else ("claude-code", "agent")
            s = clone(target, run, tmp_path / f"h{n}", n)
            for _, raw in s.events:
                assert hook_main.record(target, raw, time.time_ns())
        conf = settings.load(overrides={"endpoint": rec.endpoint})
        deadline = time.monotonic() + 1200
        while time.monotonic() < deadline:
            report = worker.drain(settings=conf)
            if report.spans_left == 0:
                break
        assert report.spans_left == 0
        ids = Counter((s["trace_id"], s["span_id"]) for s in rec.spans)
        assert max(ids.values()) == 1, "a span arrived twice"
        # both recordings have two turns: every session's two roots arrived
        roots = Counter(s["attributes"]["session.id"] for s in rec.spans if not s["parent_span_id"])
        assert len(roots) == SESSIONS and set(roots.values()) == {2}
        refused = sum(1 for n in range(len(rec.requests)) if n % 3 == 0)
        assert refused >= len(rec.requests) // 3 > 0  # the failures really happened
    finally:
        rec.stop()
