"""Span content must not depend on when the worker ran (issue 14, Codex): ids are
deterministic, so a backend that deduplicates keeps whichever copy came first. Recorded
sessions go through the real hook path, worker and OTLP exporter to a real receiver."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pipeline_helpers import record_fixture
from replay import FIXTURES_CODEX, Rollouts, load_events

from staso_otel import settings
from staso_otel.hook import main as hook_main
from staso_otel.pipeline import worker

NOW = 1_800_000_000_000_000_000


def _received(receiver) -> list[dict]:
    return sorted(receiver.spans, key=lambda s: (s["trace_id"], s["span_id"]))


def _session(name: str, home: Path, endpoint: str, alongside: bool) -> None:
    pipeline = worker.Pipeline(settings=settings.load(overrides={"endpoint": endpoint}))

    def work() -> None:
        pipeline.process_journals(now_ns=NOW)
        pipeline.send_spool(force=True)

    try:
        record_fixture(name, home, now_ns=NOW, worker=work if alongside else None)
        work()  # the worker's last look: after the session (or its poll once idle)
    finally:
        pipeline.close()


@pytest.mark.parametrize("name", ["tour_resume", "stop_block", "compact-0.171.0", "spawn_v1"])
def test_worker_alongside_or_after_sends_the_same_spans(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated_homes
) -> None:
    from otlp_receiver import Receiver

    got = {}
    for mode in ("after", "alongside"):
        monkeypatch.setenv("STASO_HOME", str(tmp_path / mode / "staso"))
        receiver = Receiver().start()
        try:
            _session(name, tmp_path / mode / "codex", receiver.endpoint, mode == "alongside")
            got[mode] = _received(receiver)
        finally:
            receiver.stop()
    assert got["after"], "nothing arrived"
    assert json.dumps(got["alongside"], sort_keys=True) == json.dumps(got["after"], sort_keys=True)


def test_a_turn_waiting_at_its_stop_is_sent_once_the_rollout_ends_it(
    tmp_path: Path, receiver, isolated_homes
) -> None:
    """The last Stop of a session that never sends SessionEnd (the TUI, or Codex 0.130):
    another Stop hook could still block it, so the worker waits for the rollout's
    task_complete - and, polling, sends the turn when it appears without any new hook."""
    fixture = FIXTURES_CODEX / "legacy-0.130.0"
    home = isolated_homes["codex"]
    events = load_events(fixture, home)
    shift = (NOW - events[-1][0]) // 1_000_000 * 1_000_000
    rollouts = Rollouts(fixture, home, shift_ns=shift)
    pipeline = worker.Pipeline(settings=settings.load(overrides={"endpoint": receiver.endpoint}))
    try:
        for t, payload in events:
            rollouts.write_until(t + shift)
            assert hook_main.record("codex", json.dumps(payload).encode(), t + shift)
        pipeline.process_journals(now_ns=NOW)
        pipeline.send_spool(force=True)
        assert receiver.spans == []  # the rollout has not said the turn is over yet
        rollouts.write_until(None)  # Codex writes task_complete after the Stop hooks
        records, _ = pipeline.process_journals(now_ns=NOW)
        assert records == 0
        pipeline.send_spool(force=True)
        roots = [s for s in receiver.spans if s["parent_span_id"] is None]
        assert [r["attributes"]["staso.turn.outcome"] for r in roots] == ["completed"]
        assert len(receiver.spans) == 4
        pipeline.process_journals(now_ns=NOW)  # settled: nothing more to poll for
        assert pipeline.polling == set()
    finally:
        pipeline.close()
