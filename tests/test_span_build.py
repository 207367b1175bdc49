"""span/build.py: both dialects, unset values skipped, failures as ERROR, the content gate."""

from __future__ import annotations

import json

import pytest

from staso_otel import semconv as sc
from staso_otel.span import build
from staso_otel.span.build import CONTENT_KEYS, Usage

BASE = {"trace_id": 7, "start_ns": 100, "end_ns": 250, "target": "api", "session_id": "s1"}


def test_turn_span_both_dialects_and_totals() -> None:
    span = build.turn_span(
        span_id=1,
        agent_name="triage-bot",
        provider="anthropic",
        model="m1",
        prompt="hello",
        response={"answer": 42},
        usage=Usage(10, 5, 3, 1, 2) + Usage(1, 1),
        model_calls=2,
        outcome=sc.TURN_COMPLETED,
        extra={sc.CLAUDE_CODE_TURN_NUMBER: 3, sc.CODEX_TURN_ID: None},
        **BASE,
    )
    a = span.attributes
    assert span.name == "invoke_agent triage-bot" and span.kind == sc.KIND_INTERNAL
    assert span.parent_span_id is None and span.status == sc.STATUS_UNSET
    assert a[sc.GEN_AI_OPERATION_NAME] == "invoke_agent"
    assert a[sc.OPENINFERENCE_SPAN_KIND] == "AGENT"
    assert a[sc.GEN_AI_CONVERSATION_ID] == a[sc.SESSION_ID] == "s1"
    assert a[sc.INPUT_VALUE] == "hello" and a[sc.INPUT_MIME_TYPE] == sc.MIME_TEXT
    assert json.loads(a[sc.OUTPUT_VALUE]) == {"answer": 42}
    assert a[sc.OUTPUT_MIME_TYPE] == sc.MIME_JSON
    assert a[sc.STASO_USAGE_INPUT_TOKENS] == 11 and a[sc.STASO_USAGE_TOTAL_TOKENS] == 17
    assert a[sc.STASO_USAGE_MODEL_CALLS] == 2
    assert a[sc.CLAUDE_CODE_TURN_NUMBER] == 3
    assert sc.CODEX_TURN_ID not in a  # None is skipped, never written
    assert sc.GEN_AI_AGENT_ID not in a


def test_chat_span_tokens_in_both_dialects() -> None:
    span = build.chat_span(
        span_id=2,
        parent_span_id=1,
        request_model="gpt-5",
        provider="openai",
        response_id="resp_1",
        usage=Usage(812, 64, 256, 8, 16, 876),
        output="hi",
        **BASE,
    )
    a = span.attributes
    assert span.name == "chat gpt-5" and span.kind == sc.KIND_CLIENT
    assert a[sc.GEN_AI_USAGE_INPUT_TOKENS] == a[sc.LLM_TOKEN_COUNT_PROMPT] == 812
    assert a[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == a[sc.LLM_TOKEN_COUNT_COMPLETION] == 64
    assert a[sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 256
    assert a[sc.LLM_TOKEN_COUNT_PROMPT_CACHE_READ] == 256
    assert a[sc.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS] == 8
    assert "gen_ai.usage.cache_write.input_tokens" not in a  # not a registry name
    assert a[sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] == 16
    assert a[sc.LLM_TOKEN_COUNT_COMPLETION_REASONING] == 16
    assert a[sc.LLM_TOKEN_COUNT_TOTAL] == 876
    assert a[sc.GEN_AI_RESPONSE_MODEL] == a[sc.LLM_MODEL_NAME] == "gpt-5"
    assert a[sc.LLM_PROVIDER] == a[sc.GEN_AI_PROVIDER_NAME] == "openai"
    assert a[sc.OUTPUT_VALUE] == "hi"


def test_failure_is_error_with_type() -> None:
    span = build.chat_span(
        span_id=2,
        parent_span_id=1,
        request_model="gpt-5",
        error_type="model_request_failed",
        error_message="HTTP 500",
        **BASE,
    )
    assert span.status == sc.STATUS_ERROR
    assert span.status_description == "HTTP 500"
    assert span.attributes[sc.ERROR_TYPE] == "model_request_failed"
    assert sc.GEN_AI_RESPONSE_MODEL not in span.attributes  # nothing answered
    assert sc.GEN_AI_USAGE_INPUT_TOKENS not in span.attributes


def test_tool_span_facts_and_arguments() -> None:
    span = build.tool_span(
        span_id=3,
        parent_span_id=1,
        tool_name="search",
        call_id="c1",
        category=sc.CATEGORY_SYSTEM,
        arguments={"q": "otel"},
        result="3 hits",
        facts={
            sc.STASO_FILE_PATHS: ["a.py", "b.py"],
            sc.STASO_SEARCH_QUERY: "otel",
            sc.STASO_SHELL_EXIT_CODE: 0,
            sc.STASO_AGENT_IDS: [],
        },
        **BASE,
    )
    a = span.attributes
    assert span.name == "execute_tool search"
    assert a[sc.GEN_AI_TOOL_NAME] == a[sc.TOOL_NAME] == "search"
    assert a[sc.GEN_AI_TOOL_CALL_ID] == "c1"
    assert a[sc.GEN_AI_TOOL_TYPE] == sc.TOOL_TYPE_FUNCTION
    assert json.loads(a[sc.GEN_AI_TOOL_CALL_ARGUMENTS]) == {"q": "otel"}
    assert a[sc.INPUT_VALUE] == a[sc.GEN_AI_TOOL_CALL_ARGUMENTS]
    assert a[sc.GEN_AI_TOOL_CALL_RESULT] == a[sc.OUTPUT_VALUE] == "3 hits"
    assert a[sc.STASO_FILE_PATHS] == ("a.py", "b.py")
    assert a[sc.STASO_SHELL_EXIT_CODE] == 0  # zero is a value, not "unset"
    assert sc.STASO_AGENT_IDS not in a  # empty is unset


def test_subagent_span_named_by_type() -> None:
    span = build.subagent_span(
        span_id=4, parent_span_id=3, agent_type="explorer", agent_id="a-1", **BASE
    )
    assert span.name == "invoke_agent explorer"
    assert span.parent_span_id == 3
    assert span.attributes[sc.STASO_AGENT_TYPE] == "explorer"
    assert span.attributes[sc.GEN_AI_AGENT_ID] == "a-1"


@pytest.mark.parametrize(
    "builder,kwargs",
    [
        (build.turn_span, {"span_id": 1, "agent_name": "x", "prompt": "p", "response": "r"}),
        (
            build.chat_span,
            {
                "span_id": 1,
                "parent_span_id": 0,
                "request_model": "m",
                "input_messages": [{"role": "user", "content": "q"}],
                "output": "o",
            },
        ),
        (
            build.tool_span,
            {
                "span_id": 1,
                "parent_span_id": 0,
                "tool_name": "t",
                "arguments": "a",
                "result": "r",
                "facts": {
                    sc.STASO_SHELL_COMMAND: "rm -rf /",
                    sc.STASO_FILE_DIFF: "+x",
                    sc.STASO_SHELL_EXIT_CODE: 1,
                },
            },
        ),
        (
            build.subagent_span,
            {"span_id": 1, "parent_span_id": 0, "agent_type": "t", "prompt": "p"},
        ),
    ],
)
def test_content_gate(builder, kwargs) -> None:
    on = builder(capture_content=True, **BASE, **kwargs).attributes
    off = builder(capture_content=False, **BASE, **kwargs).attributes
    assert CONTENT_KEYS & set(on)
    assert not CONTENT_KEYS & set(off)
    assert not [k for k in off if k.startswith(("llm.input_messages", "llm.output_messages"))]
    assert {k: v for k, v in on.items() if not build.is_content_key(k)} == off


def test_span_round_trips_through_json() -> None:
    span = build.tool_span(
        span_id=3, parent_span_id=1, tool_name="t", facts={sc.STASO_FILE_PATHS: ["a"]}, **BASE
    )
    from staso_otel.span.model import SpanData

    assert SpanData.from_dict(json.loads(json.dumps(span.to_dict()))) == span


def test_end_never_before_start() -> None:
    span = build.turn_span(span_id=1, agent_name="x", **{**BASE, "end_ns": 50})
    assert span.end_ns == span.start_ns


def test_error_message_is_content() -> None:
    kwargs = {
        "span_id": 3,
        "parent_span_id": 1,
        "tool_name": "exec_command",
        "error_type": "blocked",
        "error_message": "Command blocked: cat ~/.ssh/id_rsa",
    }
    on = build.tool_span(capture_content=True, **BASE, **kwargs)
    off = build.tool_span(capture_content=False, **BASE, **kwargs)
    assert on.status_description == "Command blocked: cat ~/.ssh/id_rsa"
    assert off.status == sc.STATUS_ERROR and off.status_description == "blocked"
