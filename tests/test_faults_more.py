"""Faults the other suites check one layer at a time, checked through the whole pipeline:
a corpus of secrets in real hook payloads of both agents never reaches the collector, and
a stream of fuzzed payloads (random JSON, wrong types, huge strings, invalid UTF-8)
leaves the worker able to deliver the next real session whole."""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from replay_claude import FIXTURES_CLAUDE
from replay_claude import load_events as claude_events
from test_redact import SECRETS, TEXT

from staso_otel import settings as settings_mod
from staso_otel.export import worker
from staso_otel.hook import main as hook_main
from staso_otel.local import replay


def _drain(endpoint: str) -> worker.DrainReport:
    return worker.drain(settings=settings_mod.load(overrides={"endpoint": endpoint}))


def _all_text(span: dict) -> str:
    return json.dumps(span, ensure_ascii=False)


def test_secrets_in_prompts_commands_and_outputs_never_reach_the_collector(
    receiver, tmp_path, monkeypatch
):
    monkeypatch.setenv("STASO_NO_WORKER", "1")
    home = tmp_path / "home"
    events = claude_events(FIXTURES_CLAUDE / "tour_resume", home)
    t0 = time.time_ns() - 10**9
    for i, (_, payload) in enumerate(events):
        p = dict(payload)
        if "prompt" in p:
            p["prompt"] = f"deploy with these: {TEXT}"
        if isinstance(p.get("tool_input"), dict) and "command" in p["tool_input"]:
            p["tool_input"] = {**p["tool_input"], "command": f"curl -H 'x: {TEXT}'"}
        if isinstance(p.get("tool_response"), dict):
            p["tool_response"] = {**p["tool_response"], "stdout": TEXT, "content": TEXT}
        if "last_assistant_message" in p:
            p["last_assistant_message"] = TEXT
        hook_main.record("claude-code", json.dumps(p).encode(), t0 + i * 1000)
    replay.replay(FIXTURES_CLAUDE.parent / "codex" / "tour_resume", tmp_path / "codex-home")
    report = _drain(receiver.endpoint)
    assert report.spans_left == 0 and len(receiver.spans) == report.spans_sent > 20
    redacted = 0
    for span in receiver.spans:
        text = _all_text(span)
        for name, secret in SECRETS.items():
            assert secret not in text, f"{name} leaked on {span['name']}"
        redacted += span["attributes"].get("staso.redacted", 0)
    assert redacted >= len(SECRETS)  # they were there, and were taken out


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
