"""Model calls carry what went in and what came out, as GenAI messages and OpenInference.

Replays recorded real sessions of both agents: each chat span's input holds what is new
since the previous call of the turn (the prompt first, then the tool results the model was
answering), its output the reasoning, text and tool calls of the answer, and the ids tie a
tool_call in one answer to the tool_call_response in the next call's input.
"""

from __future__ import annotations

import json
from pathlib import Path

from replay import FIXTURES_CODEX
from replay import replay as replay_codex
from replay_claude import FIXTURES_CLAUDE
from replay_claude import replay as replay_claude

from staso_otel import semconv as sc
from staso_otel.span import build
from staso_otel.span.messages import Message, TextPart, ToolCallPart, coerce
from staso_otel.span.model import SpanData


def chats(spans: list[SpanData]) -> list[SpanData]:
    return sorted((s for s in spans if s.name.startswith("chat ")), key=lambda s: s.start_ns)


def trace_chats(spans: list[SpanData]) -> list[list[SpanData]]:
    by_trace: dict[int, list[SpanData]] = {}
    for s in chats(spans):
        by_trace.setdefault(s.trace_id, []).append(s)
    return sorted(by_trace.values(), key=lambda c: c[0].start_ns)


def messages(span: SpanData, key: str) -> list[dict]:
    return json.loads(span.attributes[key])


def parts(span: SpanData, key: str, kind: str) -> list[dict]:
    return [p for m in messages(span, key) for p in m["parts"] if p["type"] == kind]


def one_chat(**fields: object) -> SpanData:
    """A chat span built directly, with only the fields a test is about."""
    base = {"trace_id": 1, "span_id": 2, "parent_span_id": 1, "start_ns": 1, "end_ns": 2}
    return build.chat_span(**base, request_model="m", target="t", session_id="s", **fields)


def check_call_chain(calls: list[SpanData]) -> None:
    """Every tool_call answered in a turn comes back, by id, in a later call's input, and
    no call's input repeats what an earlier call of the turn already carried."""
    seen_inputs: set[str] = set()
    asked: list[str] = []
    for chat in calls:
        for m in messages(chat, sc.GEN_AI_INPUT_MESSAGES):
            key = json.dumps(m, sort_keys=True)
            assert key not in seen_inputs, f"input repeated: {key[:80]}"
            seen_inputs.add(key)
        answered = [p["id"] for p in parts(chat, sc.GEN_AI_INPUT_MESSAGES, "tool_call_response")]
        assert set(answered) <= set(asked), (answered, asked)
        if sc.GEN_AI_OUTPUT_MESSAGES in chat.attributes:
            asked += [p["id"] for p in parts(chat, sc.GEN_AI_OUTPUT_MESSAGES, "tool_call")]


def test_codex_chat_spans_carry_inputs_and_outputs(tmp_path: Path) -> None:
    spans = replay_codex(FIXTURES_CODEX / "tour_resume", tmp_path / "codex").spans
    turn1, turn2 = trace_chats(spans)
    first = turn1[0]
    a = first.attributes
    # the conversation's first request: Codex's instructions (developer messages in the
    # history, so role system), its context, the prompt
    assert a[sc.STASO_CHAT_INPUT_SCOPE] == sc.INPUT_SCOPE_CONVERSATION_START
    sent = messages(first, sc.GEN_AI_INPUT_MESSAGES)
    assert sent[0]["role"] == "system"
    assert sent[0]["parts"][0]["content"].startswith("You are Codex")
    users = [m for m in messages(first, sc.GEN_AI_INPUT_MESSAGES) if m["role"] == "user"]
    prompt = "SCENARIO:tour run echo, plan, patch"
    assert users[-1]["parts"] == [{"type": "text", "content": prompt}]
    # the answer: the reasoning summary and the exec_command call, arguments as an object
    (answer,) = messages(first, sc.GEN_AI_OUTPUT_MESSAGES)
    assert answer["role"] == "assistant" and answer["finish_reason"] == "tool_call"
    assert answer["parts"][0] == {"type": "reasoning", "content": "step 1: run a command"}
    call = answer["parts"][-1]
    assert call["type"] == "tool_call" and call["name"] == "exec_command"
    assert call["id"] == "call_0003" and call["arguments"]["cmd"] == "echo hi"
    # the second request carries only the command's output, answering call_0003
    second = turn1[1]
    assert second.attributes[sc.STASO_CHAT_INPUT_SCOPE] == sc.INPUT_SCOPE_SINCE_PREVIOUS
    (tool_msg,) = messages(second, sc.GEN_AI_INPUT_MESSAGES)
    assert tool_msg["role"] == "tool"
    (response,) = tool_msg["parts"]
    assert response["type"] == "tool_call_response" and response["id"] == "call_0003"
    assert "hi" in response["response"]
    assert "You are Codex" not in second.attributes[sc.GEN_AI_INPUT_MESSAGES]
    # the last answer is text: output.value is that text, the finish reason "stop"
    last = turn1[-1].attributes
    assert last[sc.OUTPUT_VALUE] == "All done: ran echo, updated plan, wrote hello.txt."
    assert last[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    check_call_chain(turn1)
    # turn 2 (`codex exec resume`) starts from its own prompt, not the whole history
    assert turn2[0].attributes[sc.STASO_CHAT_INPUT_SCOPE] == sc.INPUT_SCOPE_TURN_START
    prompt = [m for m in messages(turn2[0], sc.GEN_AI_INPUT_MESSAGES) if m["role"] == "user"]
    assert prompt[-1]["parts"][0]["content"].startswith("SCENARIO:turn2")
    assert "SCENARIO:tour" not in turn2[0].attributes[sc.GEN_AI_INPUT_MESSAGES]
    check_call_chain(turn2)


def test_codex_openinference_messages_mirror_the_genai_ones(tmp_path: Path) -> None:
    spans = replay_codex(FIXTURES_CODEX / "parallel", tmp_path / "codex").spans
    first, second = chats(spans)
    a = first.attributes
    out = sc.LLM_OUTPUT_MESSAGES + ".0."
    assert a[out + sc.OI_MESSAGE_ROLE] == "assistant"
    names = [a[f"{out}message.tool_calls.{j}.tool_call.function.name"] for j in (0, 1)]
    assert names == ["exec_command", "exec_command"]
    ids = [a[f"{out}message.tool_calls.{j}.tool_call.id"] for j in (0, 1)]
    assert ids == ["call_0002", "call_0004"]
    args = json.loads(a[f"{out}message.tool_calls.0.tool_call.function.arguments"])
    assert "cmd" in args
    b = second.attributes
    answered = {
        b[f"{sc.LLM_INPUT_MESSAGES}.{i}.{sc.OI_MESSAGE_TOOL_CALL_ID}"]
        for i in (0, 1)
        if b.get(f"{sc.LLM_INPUT_MESSAGES}.{i}.{sc.OI_MESSAGE_ROLE}") == "tool"
    }
    assert answered == {"call_0002", "call_0004"}


def test_claude_code_chat_spans_carry_prompt_then_tool_results(tmp_path: Path) -> None:
    spans = replay_claude(FIXTURES_CLAUDE / "tour_resume", tmp_path / "claude").spans
    turn1 = trace_chats(spans)[0]
    first = turn1[0]
    assert first.attributes[sc.STASO_CHAT_INPUT_SCOPE] == sc.INPUT_SCOPE_CONVERSATION_START
    (prompt,) = messages(first, sc.GEN_AI_INPUT_MESSAGES)
    assert prompt["role"] == "user" and prompt["parts"][0]["type"] == "text"
    (answer,) = messages(first, sc.GEN_AI_OUTPUT_MESSAGES)
    call = next(p for p in answer["parts"] if p["type"] == "tool_call")
    assert call["name"] == "Bash" and call["arguments"]["command"] == "echo hi"
    second = turn1[1]
    responses = parts(second, sc.GEN_AI_INPUT_MESSAGES, "tool_call_response")
    assert [r["id"] for r in responses] == [call["id"]]
    assert "hi" in json.dumps(responses[0]["response"])
    for chat in turn1:
        assert messages(chat, sc.GEN_AI_INPUT_MESSAGES), chat.name  # never an empty input
    check_call_chain(turn1)
    assert all(len(t) == len(set(s.span_id for s in t)) for t in trace_chats(spans))


def test_claude_code_sub_agent_calls_carry_their_own_task(tmp_path: Path) -> None:
    spans = replay_claude(FIXTURES_CLAUDE / "agent", tmp_path / "claude").spans
    sub = next(s for s in spans if s.name == "invoke_agent general-purpose")
    sub_chats = [s for s in chats(spans) if s.parent_span_id == sub.span_id]
    assert sub_chats
    first_input = sub_chats[0].attributes[sc.GEN_AI_INPUT_MESSAGES]
    assert sub.attributes[sc.INPUT_VALUE][:40] in first_input
    check_call_chain(sub_chats)


def test_messages_are_content(tmp_path: Path) -> None:
    for spans in (
        replay_codex(FIXTURES_CODEX / "tour_resume", tmp_path / "c", capture_content=False).spans,
        replay_claude(FIXTURES_CLAUDE / "tour_resume", tmp_path / "k", capture_content=False).spans,
    ):
        for s in spans:
            leaked = [k for k in s.attributes if build.is_content_key(k)]
            assert not leaked, (s.name, leaked)


def test_library_inputs_in_chat_api_shape_become_messages() -> None:
    got = coerce(
        [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": [{"type": "text", "text": "2+2?"}]},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "c1", "function": {"name": "add", "arguments": '{"a": 2, "b": 2}'}}
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "4"},
        ],
        sc.ROLE_USER,
    )
    assert got is not None
    assert [m.role for m in got] == ["system", "user", "assistant", "tool"]
    assert got[1].parts == (TextPart("2+2?"),)
    assert got[2].parts == (ToolCallPart("c1", "add", {"a": 2, "b": 2}),)
    response = {"type": "tool_call_response", "id": "c1", "response": "4"}
    assert got[3].to_dict()["parts"] == [response]
    assert coerce("hello", sc.ROLE_ASSISTANT) == [Message("assistant", (TextPart("hello"),))]
    assert coerce(None, sc.ROLE_USER) is None


def test_finish_reason_is_on_every_output_message() -> None:
    span = one_chat(output="the answer", finish_reasons=["end_turn"])
    (out,) = json.loads(span.attributes[sc.GEN_AI_OUTPUT_MESSAGES])
    assert out == {
        "role": "assistant",
        "parts": [{"type": "text", "content": "the answer"}],
        "finish_reason": "end_turn",
    }
    assert span.attributes[sc.OUTPUT_VALUE] == "the answer"


def test_turns_name_the_agent_version_that_ran_them(tmp_path: Path) -> None:
    for spans, version in (
        (replay_codex(FIXTURES_CODEX / "tour_resume", tmp_path / "c").spans, "0.169.0"),
        (replay_claude(FIXTURES_CLAUDE / "agent", tmp_path / "k").spans, "2.1.330"),
    ):
        agents = [s for s in spans if s.name.startswith("invoke_agent ")]
        assert agents
        assert {s.attributes.get(sc.GEN_AI_AGENT_VERSION) for s in agents} == {version}


def test_messages_keep_their_shape_under_the_size_cap() -> None:
    """A call whose messages exceed the attribute cap is cut inside each text, never by
    dropping a part's keys: what arrives is still messages a backend can draw. Multi-line
    text (each newline two bytes once escaped) is what the cap used to misjudge."""
    from staso_otel.span.redact import redact_span

    text = "\n".join(f"line {i} of the instructions\tindented" for i in range(3000))
    inputs = [Message("system", (TextPart(text),)), Message("user", (TextPart("hi"),))]
    span = one_chat(input_messages=inputs)
    capped = redact_span(span, 16384).attributes
    assert sc.INPUT_VALUE not in capped  # the messages are not sent twice
    for key in (sc.GEN_AI_INPUT_MESSAGES,):
        value = capped[key]
        assert len(value.encode()) <= 16384
        got = json.loads(value)
        assert [m["role"] for m in got] == ["system", "user"]
        for m in got:
            for part in m["parts"]:
                assert set(part) == {"type", "content"}, part
        assert got[0]["parts"][0]["content"].startswith("line 0 of the instructions")
        assert got[1]["parts"][0]["content"] == "hi"
    assert sc.GEN_AI_INPUT_MESSAGES in capped[sc.STASO_TRUNCATED]
