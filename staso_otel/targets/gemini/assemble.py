"""A closed Gemini CLI turn -> SpanData through the span builders. [targets/gemini]

Pure: given a closed turn's hook facts (times, prompt, model requests, tool calls) and
its transcript facts (responses with tokens and tool calls, user records with the tool
results), build its spans with `span/build.py`. Ids are deterministic (trace = session +
the turn's BeforeAgent timestamp; span = trace + kind + the response's or call's own id),
so a span built twice is the same span.
"""

from __future__ import annotations

from typing import Any

from staso_otel import semconv as sc
from staso_otel.span import build, ids
from staso_otel.span.build import Usage
from staso_otel.span.messages import (
    Message,
    Part,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    ToolCallResponsePart,
)
from staso_otel.span.model import SpanData
from staso_otel.targets.base import Context
from staso_otel.targets.gemini import tools

TARGET = "gemini"
AGENT_NAME = "gemini-cli"
PROVIDER = sc.PROVIDER_GEMINI


def usage_from(tokens: Any) -> Usage | None:
    """The transcript's tokens -> Usage. Gemini's prompt count includes cached input (as
    the GenAI conventions' input does) and its candidates count excludes thinking, which
    the conventions' output includes; tool-use prompt tokens are input too."""
    if not isinstance(tokens, dict):
        return None

    def n(key: str) -> int:
        value = tokens.get(key)
        return int(value) if isinstance(value, (int, float)) else 0

    total = tokens.get("total")
    return Usage(
        input_tokens=n("input") + n("tool"),
        output_tokens=n("output") + n("thoughts"),
        cache_read_tokens=n("cached"),
        reasoning_tokens=n("thoughts"),
        total_tokens=int(total) if isinstance(total, (int, float)) else None,
    )


def hook_usage(meta: Any) -> Usage | None:
    """AfterModel's usageMetadata (prompt, candidates, total only) -> Usage."""
    if not isinstance(meta, dict):
        return None
    return usage_from(
        {"input": meta.get("promptTokenCount"), "output": meta.get("candidatesTokenCount"),
         "total": meta.get("totalTokenCount")}
    )  # fmt: skip


def _outcome(outcome: str | None, facts: dict[str, Any]) -> tuple[str, str | None, str | None]:
    if outcome == sc.TURN_COMPLETED:
        return outcome, None, None
    error = facts.get("error")
    if error:
        return sc.TURN_FAILED, "model_request_failed", error.get("text")
    return sc.TURN_UNFINISHED, "unfinished", "turn did not finish"


def build_spans(
    state: dict[str, Any],
    turn: dict[str, Any],
    facts: dict[str, Any],
    ctx: Context,
    outcome_in: str | None,
    reason: str,
    end: int,
) -> list[SpanData]:
    """The spans of a closed turn: its root, one chat span per model response, one
    execute_tool span per tool call (hooked or only in the transcript)."""
    sid = state["sid"]
    trace = ids.trace_id(TARGET, sid, turn["id"])
    root = ids.span_id(trace, "turn")
    common = {"target": TARGET, "session_id": sid, "capture_content": ctx.capture_content}
    chats, total, model = _chat_spans(turn, facts, trace, root, common)
    tool_spans = _tool_spans(turn, facts, trace, root, end, common)
    outcome, err_type, err_msg = _outcome(outcome_in, facts)
    texts = [m["text"] for m in facts["msgs"].values() if m.get("text")]
    # AfterAgent's prompt_response repeats the last streamed chunk (0.61.0): the
    # transcript's final answer is the clean one
    response = texts[-1] if texts else turn.get("response")
    meta = state["meta"]
    extra = {
        sc.GEMINI_TURN_NUMBER: turn.get("num"),
        sc.STASO_CWD: turn.get("cwd") or meta.get("cwd"),
        sc.GEMINI_SESSION_SOURCE: meta.get("source"),
    }
    start = min([turn["t0"]] + [s.start_ns for s in chats + tool_spans])
    root_span = build.turn_span(
        trace_id=trace,
        span_id=root,
        agent_name=AGENT_NAME,
        agent_id=ctx.agent_id,
        start_ns=start,
        end_ns=max([end, start] + [s.end_ns for s in chats + tool_spans]),
        provider=PROVIDER,
        model=model,
        prompt=turn.get("prompt"),
        response=response,
        usage=total,
        model_calls=len(chats),
        outcome=outcome,
        end_reason=reason,
        error_type=err_type,
        error_message=err_msg,
        extra=extra,
        **common,
    )
    return [root_span, *chats, *tool_spans]


def _answer(msg: dict[str, Any]) -> tuple[Message, ...]:
    parts: list[Part] = [ReasoningPart(t) for t in msg.get("thoughts") or [] if t]
    if msg.get("text"):
        parts.append(TextPart(msg["text"]))
    for call in msg.get("calls") or []:
        parts.append(ToolCallPart(call.get("id"), str(call.get("name")), call.get("args")))
    return (Message(sc.ROLE_ASSISTANT, tuple(parts)),) if parts else ()


def _inputs(facts: dict[str, Any], prompt: str | None, after: int | None, upto: int) -> tuple:
    """What the model was sent new: the prompt (first call), else the tool results that
    arrived since the previous response."""
    if after is None:
        users = [u["text"] for u in facts["user"] if u.get("text") and u["ts"] <= upto]
        text = prompt or (users[0] if users else None)
        return (Message(sc.ROLE_USER, (TextPart(text),)),) if text else ()
    return tuple(
        Message(sc.ROLE_TOOL, (ToolCallResponsePart(r.get("id"), r.get("response")),))
        for u in facts["user"]
        if after < u["ts"] <= upto
        for r in u.get("results") or []
    )


def _chat_spans(
    turn: dict[str, Any],
    facts: dict[str, Any],
    trace: int,
    root: int,
    common: dict[str, Any],
) -> tuple[list[SpanData], Usage, str | None]:
    """One chat span per response record; it started at the latest BeforeModel before it
    (a retried request fires BeforeModel again), else when the model was last waited on.
    With no transcript, one per BeforeModel, with what AfterModel said if subscribed."""
    reqs = turn["reqs"]
    spans: list[SpanData] = []
    total = Usage()
    model = None
    previous: int | None = None
    rows = [
        (mid, m["ts"], m.get("model"), usage_from(m.get("tokens")), _answer(m), None)
        for mid, m in facts["msgs"].items()
    ]
    if not rows:
        rows = [
            (f"req{i}", r.get("end") or r["t"], r.get("model"), hook_usage(r.get("usage")), (),
             r.get("finish"))
            for i, r in enumerate(reqs)
        ]  # fmt: skip
    for mid, ts, response_model, usage, answer, finish in rows:
        floor = previous if previous is not None else turn["t0"]
        starts = [r["t"] for r in reqs if floor <= r["t"] <= ts]
        start = starts[-1] if starts else floor
        request = next((r.get("model") for r in reversed(reqs) if r["t"] <= ts), None)
        request_model = request or response_model
        model = response_model or request_model or model
        if usage is not None:
            total = total + usage
        inputs = _inputs(facts, turn.get("prompt"), previous, ts)
        spans.append(
            build.chat_span(
                trace_id=trace,
                span_id=ids.span_id(trace, "chat", mid),
                parent_span_id=root,
                start_ns=min(start, ts),
                end_ns=ts,
                request_model=request_model,
                response_model=response_model,
                provider=PROVIDER,
                usage=usage,
                input_messages=inputs,
                output=answer,
                input_scope=_input_scope(turn, previous is None),
                finish_reasons=[finish] if finish else None,
                agent_name=AGENT_NAME,
                extra={sc.GEMINI_MESSAGE_ID: mid if not mid.startswith("req") else None},
                **common,
            )
        )
        previous = ts
    return spans, total, model


def _input_scope(turn: dict[str, Any], first: bool) -> str:
    if not first:
        return sc.INPUT_SCOPE_SINCE_PREVIOUS
    return sc.INPUT_SCOPE_CONVERSATION_START if turn.get("num") == 1 else sc.INPUT_SCOPE_TURN_START


def _tool_spans(
    turn: dict[str, Any],
    facts: dict[str, Any],
    trace: int,
    root: int,
    end: int,
    common: dict[str, Any],
) -> list[SpanData]:
    """Hooked calls in order, each matched to the transcript's first unclaimed call of
    the same name (its id and status); transcript calls no hook saw follow."""
    calls = [
        (m["ts"], c) for m in facts["msgs"].values() for c in m.get("calls") or [] if c.get("id")
    ]
    claimed: set[str] = set()
    cwd = turn.get("cwd")
    spans: list[SpanData] = []
    for i, tool in enumerate(turn["tools"]):
        match = next(
            (c for _, c in calls if c["id"] not in claimed and c.get("name") == tool["name"]), None
        )
        if match is not None:
            claimed.add(match["id"])
        t1 = tool["t1"] if tool["t1"] is not None else (match or {}).get("ts") or end
        t0 = tool["t0"] if tool["t0"] is not None else t1
        o = tools.Outcome(
            response=tool.get("resp"),
            status=(match or {}).get("status") or (None if tool["t1"] else "cancelled"),
            permission_requested=bool(tool.get("perm")),
            duration_ms=(t1 - t0) // 1_000_000 if tool["t1"] is not None else None,
        )
        call_id = (match or {}).get("id") or f"{tool['name']}#{i}"
        spans.append(
            _tool(
                trace, root, call_id, t0, t1, tool["name"], tool.get("in"), o, cwd, "hook", common
            )
        )
    for ts, call in calls:
        if call["id"] in claimed:
            continue
        result = (call.get("result") or [{}])[0].get("response")
        o = tools.Outcome(response={"llmContent": _output(result)}, status=call.get("status"))
        t1 = call.get("ts") or ts
        spans.append(
            _tool(trace, root, call["id"], ts, max(t1, ts), str(call.get("name") or "tool"),
                  call.get("args"), o, cwd, "transcript", common)
        )  # fmt: skip
    return spans


def _output(result: Any) -> Any:
    """A transcript functionResponse's payload: {"output": text} or {"error": text}."""
    if isinstance(result, dict) and len(result) == 1:
        return next(iter(result.values()))
    return result


def _tool(
    trace: int,
    root: int,
    call_id: str,
    t0: int,
    t1: int,
    name: str,
    args: Any,
    o: tools.Outcome,
    cwd: str | None,
    source: str,
    common: dict[str, Any],
) -> SpanData:
    f = tools.facts(name, args, o, cwd)
    attrs = {**f.attrs, sc.STASO_TOOL_SOURCE: source}
    description = args.get("description") if isinstance(args, dict) else None
    return build.tool_span(
        trace_id=trace,
        span_id=ids.span_id(trace, "tool", call_id),
        parent_span_id=root,
        start_ns=t0,
        end_ns=max(t0, t1),
        tool_name=name,
        call_id=call_id if "#" not in call_id else None,
        tool_type=tools.tool_type(name),
        category=tools.category(name),
        arguments=args,
        result=tools.result_text(o.response),
        description=description if isinstance(description, str) else None,
        facts=attrs,
        error_type=f.error_type,
        error_message=f.error_message,
        **common,
    )
