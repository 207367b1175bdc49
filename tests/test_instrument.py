"""`instrument_openai()` / `instrument_anthropic()`: the real SDKs against a local mock API,
spans asserted at a real OTLP receiver through staso's own exporter pipeline."""

from __future__ import annotations

import asyncio
import gc
import json
import subprocess
import sys
from pathlib import Path

import anthropic
import openai
import pytest
from mock_llm import MockLLM, Step
from openai.resources.chat import completions as chat_resources
from openai.resources.responses import responses as responses_resources
from opentelemetry.sdk.trace import TracerProvider

import staso_otel
from staso_otel import semconv as sc
from staso_otel.api import config
from staso_otel.span import build

ROOT = Path(__file__).resolve().parent.parent
CALL = ("call_1", "grep", {"pattern": "TODO"})


@pytest.fixture
def mock():
    server = MockLLM().start()
    yield server
    server.stop()


@pytest.fixture
def traced(receiver, isolated_homes, monkeypatch):
    """staso configured to the receiver; the SDK classes restored after the test."""
    for owner in (chat_resources.Completions, chat_resources.AsyncCompletions):
        monkeypatch.setattr(owner, "create", owner.create)
    for owner in (responses_resources.Responses, responses_resources.AsyncResponses):
        monkeypatch.setattr(owner, "create", owner.create)
    for owner in (anthropic.resources.Messages, anthropic.resources.AsyncMessages):
        monkeypatch.setattr(owner, "create", owner.create)
        monkeypatch.setattr(owner, "stream", owner.stream)
    provider = staso_otel.configure(
        agent="bot",
        endpoint=receiver.endpoint,
        api_key="k-test",
        tracer_provider=TracerProvider(),
    )

    def spans() -> list[dict]:
        provider.force_flush()
        return receiver.spans

    yield spans
    provider.shutdown()
    config.reset()


# The mock answers on loopback in milliseconds: a short timeout makes a lost answer fail
# its test, where the SDKs' own 600 s would hold the whole run.
CLIENT_TIMEOUT = 30


def oai(mock: MockLLM, cls=openai.OpenAI):
    return cls(base_url=mock.openai_url, api_key="k", max_retries=0, timeout=CLIENT_TIMEOUT)


def claude(mock: MockLLM, cls=anthropic.Anthropic):
    return cls(base_url=mock.base_url, api_key="k", max_retries=0, timeout=CLIENT_TIMEOUT)


def chats(spans: list[dict]) -> list[dict]:
    return [s for s in spans if s["name"].startswith("chat ")]


def attrs_of(span: dict) -> dict:
    return span["attributes"]


def messages(span: dict, key: str) -> list[dict]:
    return json.loads(attrs_of(span)[key])


USER = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "find TODOs"}]


# --- OpenAI Chat Completions ---------------------------------------------------------------


def test_chat_completion_in_a_turn_is_a_chat_span_like_a_codex_model_call(mock, traced):
    staso_otel.instrument_openai()
    mock.script = [Step(text="Looking.", tools=[CALL]), Step(text="One TODO.")]

    @staso_otel.tool
    def grep(pattern: str) -> str:
        return "a.py:1: TODO"

    client = oai(mock)
    with staso_otel.turn("find TODOs", session_id="s-1") as turn:
        history = list(USER)
        reply = client.chat.completions.create(model="gpt-5", messages=history)
        call = reply.choices[0].message.tool_calls[0]
        result = grep(**json.loads(call.function.arguments))
        history += [
            reply.choices[0].message,
            {"role": "tool", "tool_call_id": call.id, "content": result},
        ]
        final = client.chat.completions.create(model="gpt-5", messages=history)
        turn.set_response(final.choices[0].message.content)
    spans = traced()
    first, second = chats(spans)
    a = attrs_of(first)
    assert first["kind"] == "CLIENT" and first["status"] == "UNSET"
    assert a[sc.GEN_AI_PROVIDER_NAME] == "openai" and a[sc.GEN_AI_REQUEST_MODEL] == "gpt-5"
    assert a[sc.GEN_AI_RESPONSE_ID] == "chatcmpl-0"
    assert a[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ["tool_calls"]
    assert (a[sc.GEN_AI_USAGE_INPUT_TOKENS], a[sc.GEN_AI_USAGE_OUTPUT_TOKENS]) == (100, 20)
    assert a[sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 30
    assert a[sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] == 5
    assert a[sc.LLM_TOKEN_COUNT_PROMPT] == 100 and a[sc.SESSION_ID] == "s-1"
    assert messages(first, sc.GEN_AI_SYSTEM_INSTRUCTIONS) == [
        {"type": "text", "content": "be brief"}
    ]
    assert messages(first, sc.GEN_AI_INPUT_MESSAGES) == [
        {"role": "user", "parts": [{"type": "text", "content": "find TODOs"}]}
    ]
    assert messages(first, sc.GEN_AI_OUTPUT_MESSAGES) == [
        {
            "role": "assistant",
            "parts": [
                {"type": "text", "content": "Looking."},
                {"type": "tool_call", "id": "call_1", "name": "grep", "arguments": CALL[2]},
            ],
            "finish_reason": "tool_calls",
        }
    ]
    # the SDK's own message object in the history reads like the dict it stands for
    tool_message = messages(second, sc.GEN_AI_INPUT_MESSAGES)[-1]
    assert tool_message == {
        "role": "tool",
        "parts": [{"type": "tool_call_response", "id": "call_1", "response": "a.py:1: TODO"}],
    }
    [tool] = [s for s in spans if s["name"] == "execute_tool grep"]
    assert attrs_of(tool)[sc.GEN_AI_TOOL_CALL_ID] == "call_1"
    [root] = [s for s in spans if s["parent_span_id"] is None]
    assert {s["parent_span_id"] for s in (first, second, tool)} == {root["span_id"]}
    assert attrs_of(root)[sc.STASO_USAGE_INPUT_TOKENS] == 200
    assert attrs_of(root)[sc.STASO_USAGE_MODEL_CALLS] == 2


def test_a_streamed_chat_completion_ends_when_read_with_usage_from_the_last_chunk(mock, traced):
    staso_otel.instrument_openai()
    mock.script = [Step(text="one two three", tools=[CALL])]
    client = oai(mock)
    with staso_otel.turn("stream it", session_id="s-2"):
        stream = client.chat.completions.create(
            model="gpt-5",
            messages=USER,
            stream=True,
            stream_options={"include_usage": True},
        )
        assert chats(traced()) == []  # returned, not yet read: the request is not over
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == "one two three"
    [chat] = chats(traced())
    a = attrs_of(chat)
    assert (
        a[sc.GEN_AI_USAGE_INPUT_TOKENS] == 100 and a[sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] == 5
    )
    assert a[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ["tool_calls"]
    [output] = messages(chat, sc.GEN_AI_OUTPUT_MESSAGES)
    assert output["parts"] == [
        {"type": "text", "content": "one two three"},
        {"type": "tool_call", "id": "call_1", "name": "grep", "arguments": CALL[2]},
    ]


def test_a_stream_closed_before_its_end_ends_its_span_with_what_arrived(mock, traced):
    staso_otel.instrument_openai()
    mock.script = [Step(text="a b c d e f g")]
    with staso_otel.turn("stop early", session_id="s-3"):
        with oai(mock).chat.completions.create(model="gpt-5", messages=USER, stream=True) as stream:
            for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content == " b":
                    break
        assert len(chats(traced())) == 1  # left the block: the span is over, inside the turn
    [chat] = chats(traced())
    assert chat["status"] == "UNSET"
    [output] = messages(chat, sc.GEN_AI_OUTPUT_MESSAGES)
    assert output["parts"] == [{"type": "text", "content": "a b"}]


def test_a_stream_dropped_unread_still_ends_its_span(mock, traced):
    staso_otel.instrument_anthropic()
    with staso_otel.turn("never read", session_id="s-drop"):
        stream = claude(mock).messages.create(
            model="claude-x", max_tokens=5, messages=USER[1:], stream=True
        )
        del stream
        gc.collect()
    [chat] = chats(traced())
    assert chat["status"] == "UNSET" and sc.GEN_AI_OUTPUT_MESSAGES not in attrs_of(chat)


def test_async_chat_completions_plain_and_streamed(mock, traced):
    staso_otel.instrument_openai()
    mock.script = [Step(text="async one"), Step(text="async two", input_tokens=50)]

    async def agent() -> str:
        client = oai(mock, openai.AsyncOpenAI)
        async with staso_otel.turn("async", session_id="s-4"):
            first = await client.chat.completions.create(model="gpt-5", messages=USER)
            stream = await client.chat.completions.create(
                model="gpt-5",
                messages=USER,
                stream=True,
                stream_options={"include_usage": True},
            )
            parts = [c.choices[0].delta.content or "" async for c in stream if c.choices]
            return first.choices[0].message.content + "|" + "".join(parts)

    assert asyncio.run(agent()) == "async one|async two"
    spans = traced()
    assert [attrs_of(c)[sc.GEN_AI_USAGE_INPUT_TOKENS] for c in chats(spans)] == [100, 50]
    [root] = [s for s in spans if s["parent_span_id"] is None]
    assert attrs_of(root)[sc.STASO_USAGE_INPUT_TOKENS] == 150


# --- OpenAI Responses ----------------------------------------------------------------------


def test_responses_api_plain_and_stream_helper(mock, traced):
    staso_otel.instrument_openai()
    mock.script = [Step(text="Checking.", tools=[CALL]), Step(text="Done.")]
    client = oai(mock)
    with staso_otel.turn("responses", session_id="s-5"):
        first = client.responses.create(model="gpt-5", input="find TODOs", instructions="be brief")
        items = [
            {"role": "user", "content": "find TODOs"},
            *first.output,
            {"type": "function_call_output", "call_id": "call_1", "output": "a.py:1"},
        ]
        with client.responses.stream(model="gpt-5", input=items) as stream:
            final = stream.get_final_response()
    assert final.output_text == "Done."
    first_span, second_span = chats(traced())
    a = attrs_of(first_span)
    assert a[sc.GEN_AI_RESPONSE_ID] == "resp_0" and a[sc.GEN_AI_RESPONSE_FINISH_REASONS] == [
        "tool_call"
    ]
    assert a[sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 30
    assert a[sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] == 5
    assert messages(first_span, sc.GEN_AI_SYSTEM_INSTRUCTIONS) == [
        {"type": "text", "content": "be brief"}
    ]
    out = messages(first_span, sc.GEN_AI_OUTPUT_MESSAGES)
    assert out[-1]["parts"] == [
        {"type": "tool_call", "id": "call_1", "name": "grep", "arguments": CALL[2]}
    ]
    b = attrs_of(second_span)
    assert b[sc.GEN_AI_RESPONSE_ID] == "resp_1" and b[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ["stop"]
    assert b[sc.GEN_AI_USAGE_INPUT_TOKENS] == 100
    inputs = messages(second_span, sc.GEN_AI_INPUT_MESSAGES)
    assert inputs[-1] == {
        "role": "tool",
        "parts": [{"type": "tool_call_response", "id": "call_1", "response": "a.py:1"}],
    }


# --- Anthropic -----------------------------------------------------------------------------


def test_anthropic_messages_like_a_claude_code_model_call(mock, traced):
    staso_otel.instrument_anthropic()
    mock.script = [Step(text="Looking.", tools=[CALL]), Step(text="Found one.")]

    @staso_otel.tool
    def grep(pattern: str) -> str:
        return "a.py:1"

    client = claude(mock)
    history: list = [{"role": "user", "content": "find TODOs"}]
    with staso_otel.turn("find TODOs", session_id="s-6"):
        first = client.messages.create(
            model="claude-x", max_tokens=100, system="be brief", messages=history
        )
        use = next(b for b in first.content if b.type == "tool_use")
        result = grep(**use.input)
        history += [
            {"role": "assistant", "content": first.content},
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": use.id, "content": result}],
            },
        ]
        with client.messages.stream(model="claude-x", max_tokens=100, messages=history) as stream:
            text = "".join(stream.text_stream)
    assert text == "Found one."
    spans = traced()
    one, two = chats(spans)
    a = attrs_of(one)
    assert a[sc.GEN_AI_PROVIDER_NAME] == "anthropic" and a[sc.GEN_AI_RESPONSE_ID] == "msg_0000"
    assert a[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ["tool_use"]
    # Anthropic's input_tokens leaves out the cache: added back, as for Claude Code
    assert a[sc.GEN_AI_USAGE_INPUT_TOKENS] == 100 + 30 + 7
    assert a[sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 30
    assert a[sc.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS] == 7
    assert messages(one, sc.GEN_AI_SYSTEM_INSTRUCTIONS) == [{"type": "text", "content": "be brief"}]
    assert messages(one, sc.GEN_AI_OUTPUT_MESSAGES)[0]["parts"][1] == {
        "type": "tool_call",
        "id": "call_1",
        "name": "grep",
        "arguments": CALL[2],
    }
    b = attrs_of(two)
    assert b[sc.GEN_AI_RESPONSE_ID] == "msg_0001" and b[sc.GEN_AI_RESPONSE_FINISH_REASONS] == [
        "end_turn"
    ]
    assert b[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 20  # from message_delta, the last usage
    assert messages(two, sc.GEN_AI_INPUT_MESSAGES)[-1]["parts"] == [
        {"type": "tool_call_response", "id": "call_1", "response": "a.py:1"}
    ]
    [tool] = [s for s in spans if s["name"] == "execute_tool grep"]
    assert attrs_of(tool)[sc.GEN_AI_TOOL_CALL_ID] == "call_1"


def test_async_anthropic_create_stream_and_stream_helper(mock, traced):
    staso_otel.instrument_anthropic()
    mock.script = [Step(text="one"), Step(text="two"), Step(text="three")]

    async def agent() -> list[str]:
        client = claude(mock, anthropic.AsyncAnthropic)
        kwargs = {
            "model": "claude-x",
            "max_tokens": 10,
            "messages": [{"role": "user", "content": "hi"}],
        }
        async with staso_otel.turn("async", session_id="s-7"):
            plain = await client.messages.create(**kwargs)
            stream = await client.messages.create(**kwargs, stream=True)
            streamed = [e.delta.text async for e in stream if e.type == "content_block_delta"]
            async with client.messages.stream(**kwargs) as helper:
                final = await helper.get_final_message()
        return [plain.content[0].text, "".join(streamed), final.content[0].text]

    assert asyncio.run(agent()) == ["one", "two", "three"]
    spans = chats(traced())
    assert [attrs_of(s)[sc.GEN_AI_RESPONSE_ID] for s in spans] == [
        "msg_0000",
        "msg_0001",
        "msg_0002",
    ]
    assert all(attrs_of(s)[sc.GEN_AI_USAGE_INPUT_TOKENS] == 137 for s in spans)


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error"), [(429, "RateLimitError"), (500, "InternalServerError")]
)
def test_an_api_error_marks_the_span_and_reaches_the_caller(mock, traced, status, error):
    staso_otel.instrument_openai()
    staso_otel.instrument_anthropic()
    mock.script = [Step(status=status)]
    with staso_otel.turn("fail", session_id="s-8"):
        with pytest.raises(openai.APIStatusError) as raised:
            oai(mock).chat.completions.create(model="gpt-5", messages=USER)
        assert type(raised.value).__name__ == error
        with pytest.raises(anthropic.APIStatusError):
            claude(mock).messages.create(model="claude-x", max_tokens=5, messages=USER[1:])
    spans = chats(traced())
    assert [(s["status"], attrs_of(s)[sc.ERROR_TYPE]) for s in spans] == [("ERROR", error)] * 2
    assert all(sc.GEN_AI_RESPONSE_ID not in attrs_of(s) for s in spans)


def test_a_stream_cut_off_mid_way_is_an_error_with_what_arrived(mock, traced):
    staso_otel.instrument_openai()
    staso_otel.instrument_anthropic()
    mock.script = [Step(text="a b c d e f", cut_after=3), Step(text="abcdef", cut_after=3)]
    with staso_otel.turn("cut", session_id="s-9"):
        with pytest.raises(openai.APIConnectionError):
            for _ in oai(mock).chat.completions.create(model="gpt-5", messages=USER, stream=True):
                pass
        # the Anthropic SDK lets the HTTP library's own error through (httpx2's)
        with (
            pytest.raises(Exception, match="incomplete chunked read") as cut,
            claude(mock).messages.stream(
                model="claude-x", max_tokens=5, messages=USER[1:]
            ) as stream,
        ):
            stream.until_done()
    spans = traced()
    gpt, cl = chats(spans)
    assert (gpt["status"], attrs_of(gpt)[sc.ERROR_TYPE]) == ("ERROR", "APIConnectionError")
    assert messages(gpt, sc.GEN_AI_OUTPUT_MESSAGES)[0]["parts"] == [
        {"type": "text", "content": "a b"}
    ]
    assert (cl["status"], attrs_of(cl)[sc.ERROR_TYPE]) == ("ERROR", cut.type.__name__)
    assert attrs_of(cl)[sc.GEN_AI_RESPONSE_ID] == "msg_0001"  # message_start did arrive
    [root] = [s for s in spans if s["parent_span_id"] is None]
    assert attrs_of(root)[sc.STASO_USAGE_MODEL_CALLS] == 2  # failed calls count as calls


# --- scope, content, redaction ---------------------------------------------------------------


def test_a_call_outside_any_turn_is_a_turn_of_its_own(mock, traced):
    staso_otel.instrument_openai()
    mock.script = [Step(text="Hi.")]
    oai(mock).chat.completions.create(model="gpt-5", messages=USER)
    spans = traced()
    [root] = [s for s in spans if s["parent_span_id"] is None]
    [chat] = chats(spans)
    assert root["name"] == "invoke_agent bot" and chat["parent_span_id"] == root["span_id"]
    assert attrs_of(root)[sc.INPUT_VALUE] == "find TODOs"
    assert attrs_of(root)[sc.OUTPUT_VALUE] == "Hi."
    assert attrs_of(root)[sc.STASO_USAGE_INPUT_TOKENS] == 100
    assert attrs_of(root)[sc.SESSION_ID] == attrs_of(chat)[sc.SESSION_ID]


def test_content_off_and_secrets_redacted_as_for_the_agents(mock, receiver, isolated_homes, traced):
    staso_otel.instrument_anthropic()
    secret = "sk-ant-api03-abcdefghijklmnopqrstuvwxyz-0123456789"
    mock.script = [Step(text=f"your key is {secret}")]
    client = claude(mock)
    ask = [{"role": "user", "content": f"remember {secret}"}]
    client.messages.create(model="claude-x", max_tokens=5, messages=ask)
    [chat] = chats(traced())
    assert secret not in json.dumps(attrs_of(chat)) and attrs_of(chat)[sc.STASO_REDACTED] >= 2
    receiver.spans.clear()
    config.reset()
    provider = staso_otel.configure(
        agent="bot",
        endpoint=receiver.endpoint,
        api_key="k-test",
        capture_content=False,
        tracer_provider=TracerProvider(),
    )
    client.messages.create(model="claude-x", max_tokens=5, messages=ask)
    provider.force_flush()
    for span in receiver.spans:
        assert not set(attrs_of(span)) & build.CONTENT_KEYS
    [chat] = chats(receiver.spans)
    assert attrs_of(chat)[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 20


def test_one_client_only_and_instrumenting_twice_adds_no_second_span(mock, traced):
    traced_client, other = oai(mock), oai(mock)
    staso_otel.instrument_openai(traced_client)
    staso_otel.instrument_openai(traced_client)
    with staso_otel.turn("hi", session_id="s-10"):
        traced_client.chat.completions.create(model="gpt-traced", messages=USER)
        other.chat.completions.create(model="gpt-other", messages=USER)
    staso_otel.instrument_openai()  # all clients now; the traced one still gets one span
    with staso_otel.turn("hi", session_id="s-11"):
        traced_client.chat.completions.create(model="gpt-traced", messages=USER)
        other.chat.completions.create(model="gpt-other", messages=USER)
    assert [s["name"] for s in chats(traced())] == [
        "chat gpt-traced",
        "chat gpt-traced",
        "chat gpt-other",
    ]


def test_not_a_client_is_one_clear_error(traced):
    with pytest.raises(TypeError, match="takes an OpenAI client, not str"):
        staso_otel.instrument_openai("gpt-5")
    with pytest.raises(TypeError, match="takes an Anthropic client, not OpenAI"):
        staso_otel.instrument_anthropic(openai.OpenAI(api_key="k"))


@pytest.mark.parametrize(
    ("function", "package"),
    [("instrument_openai", "openai"), ("instrument_anthropic", "anthropic")],
)
def test_without_the_sdk_the_error_says_what_to_install(function, package):
    code = (
        f"import sys; sys.modules[{package!r}] = None\n"
        "import staso_otel\n"
        f"try:\n    staso_otel.{function}()\n"
        "except ImportError as e:\n    print(e)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert proc.stdout.strip() == (
        f"{function}() needs the {package} package: pip install 'staso[{package}]'"
    )


# --- next to other instrumentations ------------------------------------------------------------


def _openinference(provider):
    from openinference.instrumentation.openai import OpenAIInstrumentor

    return OpenAIInstrumentor(), {"tracer_provider": provider}


def _otel_v2(provider):
    from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

    return OpenAIInstrumentor(), {"tracer_provider": provider}


@pytest.mark.parametrize("other", [_openinference, _otel_v2], ids=["openinference", "otel-v2"])
@pytest.mark.parametrize("staso_first", [True, False], ids=["staso-inside", "staso-outside"])
def test_next_to_another_openai_instrumentation_each_request_is_one_span(
    mock, traced, other, staso_first
):
    """Whichever wraps the SDK outermost, staso exports one chat span per request, counts
    its usage once, and the other instrumentation keeps working for its own exporters."""
    provider = config.current().tracer_provider
    instrumentor, kwargs = other(provider)
    if staso_first:
        staso_otel.instrument_openai()
    instrumentor.instrument(**kwargs)
    try:
        if not staso_first:
            staso_otel.instrument_openai()
        mock.script = [Step(text="Hi.", tools=[CALL])]
        with staso_otel.turn("hi", session_id="s-12"):
            oai(mock).chat.completions.create(model="gpt-5", messages=USER)
            stream = oai(mock).chat.completions.create(
                model="gpt-5", messages=USER, stream=True, stream_options={"include_usage": True}
            )
            for _ in stream:
                pass
    finally:
        instrumentor.uninstrument()
    spans = traced()
    model_spans = [
        s
        for s in spans
        if attrs_of(s).get(sc.GEN_AI_OPERATION_NAME) == "chat"
        or attrs_of(s).get(sc.OPENINFERENCE_SPAN_KIND) == "LLM"
    ]
    assert [(s["name"], s["scope"]) for s in model_spans] == [("chat gpt-5", "staso")] * 2
    [root] = [s for s in spans if s["parent_span_id"] is None]
    assert attrs_of(root)[sc.STASO_USAGE_INPUT_TOKENS] == 200
    assert attrs_of(root)[sc.STASO_USAGE_MODEL_CALLS] == 2


def test_the_anthropic_sdks_own_span_of_the_call_is_not_a_second_chat_span(mock, traced):
    provider = config.current().tracer_provider
    client = anthropic.Anthropic(
        base_url=mock.base_url,
        api_key="k",
        max_retries=0,
        timeout=CLIENT_TIMEOUT,
        open_telemetry={"tracer_provider": provider},
    )
    kwargs = {"model": "claude-x", "max_tokens": 5, "messages": USER[1:]}
    with staso_otel.turn("hi", session_id="s-13"):
        client.messages.create(**kwargs)  # not instrumented yet: the SDK's span is the call's
    before = traced()
    assert [s["scope"] for s in before if s["name"] == "anthropic.messages.create"] == [
        "com.anthropic.sdk.python"
    ]
    before.clear()
    staso_otel.instrument_anthropic(client)
    with staso_otel.turn("hi", session_id="s-14"):
        client.messages.create(**kwargs)
        with client.messages.stream(**kwargs) as stream:
            stream.until_done()
    spans = traced()
    assert sorted(s["name"] for s in spans) == [
        "chat claude-x",
        "chat claude-x",
        "invoke_agent bot",
    ]
    [root] = [s for s in spans if s["parent_span_id"] is None]
    assert attrs_of(root)[sc.STASO_USAGE_INPUT_TOKENS] == 2 * 137
