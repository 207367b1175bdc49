"""Faults the other suites check one layer at a time, checked through the whole pipeline:
a stream of fuzzed payloads (random JSON, wrong types, huge strings, invalid UTF-8)
leaves the worker able to deliver the next real session whole."""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from replay_claude import FIXTURES_CLAUDE

from staso_otel import settings as settings_mod
from staso_otel.hook import main as hook_main
from staso_otel.local import replay
from staso_otel.pipeline import worker


def _drain(endpoint: str) -> worker.DrainReport:
    return worker.drain(settings=settings_mod.load(overrides={"endpoint": endpoint}))


JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=40),
    st.just("x" * 200_000),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)
EVENTS = [
    "SessionStart",
    "UserPromptSubmit",
    "PreToolUse",
    "PostToolUse",
    "PostToolUseFailure",
    "PostToolBatch",
    "SubagentStart",
    "SubagentStop",
    "Stop",
    "SessionEnd",
    "PreModelRequest",
    "PostModelRequest",
]
FIELDS = [
    "prompt_id",
    "turn_id",
    "agent_id",
    "tool_name",
    "tool_input",
    "tool_response",
    "tool_use_id",
    "tool_calls",
    "transcript_path",
    "error",
    "token_usage",
    "prompt",
    "last_assistant_message",
]
payloads = st.one_of(
    st.builds(
        lambda event, fields: {"session_id": "fuzzed", "hook_event_name": event, **fields},
        st.sampled_from(EVENTS),
        st.dictionaries(st.sampled_from(FIELDS), JUNK, max_size=6),
    ).map(lambda p: json.dumps(p).encode()),
    st.binary(max_size=300).map(lambda b: b'{"session_id": "fuzzed", "x": "' + b + b'"}'),
)


@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisWarning")  # 200 kB strings
@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.tuples(st.sampled_from(["codex", "claude-code"]), payloads), max_size=30))
def test_fuzzed_payloads_leave_the_worker_able_to_deliver_a_real_session(
    receiver, tmp_path_factory, monkeypatch, batch
):
    home = tmp_path_factory.mktemp("fuzz")
    monkeypatch.delenv("STASO_RAISE_INTERNAL", raising=False)  # as in the field
    monkeypatch.setenv("STASO_NO_WORKER", "1")
    # what the real session gives in a clean home: the reference
    monkeypatch.setenv("STASO_HOME", str(home / "clean"))
    replay.replay(FIXTURES_CLAUDE / "agent", home / "claude-clean", target="claude-code")
    start = len(receiver.spans)
    _drain(receiver.endpoint)
    clean = {(s["trace_id"], s["span_id"]) for s in receiver.spans[start:]}
    assert clean

    monkeypatch.setenv("STASO_HOME", str(home / "staso"))
    for target, raw in batch:
        hook_main.record(target, raw, time.time_ns())
    _drain(receiver.endpoint)  # must not raise, whatever was recorded
    start = len(receiver.spans)
    replay.replay(FIXTURES_CLAUDE / "agent", home / "claude", target="claude-code")
    report = _drain(receiver.endpoint)
    assert report.spans_left == 0
    delivered = {(s["trace_id"], s["span_id"]) for s in receiver.spans[start:]}
    assert delivered == clean
