"""A closed Claude Code turn -> SpanData through the span builders. [targets/claude_code]

Pure: given a closed turn's hook facts (times, prompt, tool calls) and its transcript
facts (requests, deduplicated messages, tool_use/tool_result), build its spans with
`span/build.py`. Ids are deterministic (trace = session + prompt_id [+ segment]; span =
trace + kind + the agent's own id), so a span built twice is the same span, and a
sub-agent closed after its parent still finds its parent's ids.
"""

from __future__ import annotations

from typing import Any

from staso_otel import semconv as sc
from staso_otel.span import build, ids
from staso_otel.span.build import Usage
from staso_otel.span.model import SpanData
from staso_otel.targets.base import Context
from staso_otel.targets.claude_code import tools
from staso_otel.targets.claude_code.exchange import exchanges

TARGET = "claude-code"
AGENT_NAME = "claude-code"
PROVIDER = sc.PROVIDER_ANTHROPIC


def trace_for(session_id: str | None, prompt_id: str, seg: int) -> int:
    if seg:
        return ids.trace_id(TARGET, session_id, prompt_id, seg)
    return ids.trace_id(TARGET, session_id, prompt_id)


def trace_of(state: dict[str, Any], turn: dict[str, Any]) -> int:
    """A turn's trace; a sub-agent lives in the trace of the turn that spawned it."""
    if turn.get("trace"):
        return int(turn["trace"], 16)
    return trace_for(state["sid"], turn["id"], turn["seg"])


def root_id(trace: int, turn: dict[str, Any]) -> int:
    if turn.get("agent"):
        return ids.span_id(trace, "agent", turn["agent"], turn["seg"])
    return ids.span_id(trace, "turn")


def main_tool_id(trace: int, use_id: str) -> int:
    return ids.span_id(trace, "tool", use_id)


def tool_id(trace: int, turn: dict[str, Any], use_id: str) -> int:
    if turn.get("agent"):  # a sub-agent shares its parent's trace: key by agent too
        return ids.span_id(trace, "tool", turn["agent"], turn["seg"], use_id)
    return main_tool_id(trace, use_id)


def usage_from(data: Any) -> Usage | None:
    """Anthropic usage -> Usage. Anthropic's input_tokens excludes cached input; the
    GenAI conventions' includes it, so cache reads and writes are added back."""
    if not isinstance(data, dict):
        return None

    def n(value: Any) -> int:
        return int(value) if isinstance(value, (int, float)) else 0

    details = data.get("output_tokens_details")
    thinking = details.get("thinking_tokens") if isinstance(details, dict) else None
    read, write = n(data.get("cache_read_input_tokens")), n(data.get("cache_creation_input_tokens"))
    return Usage(
        input_tokens=n(data.get("input_tokens")) + read + write,
        output_tokens=n(data.get("output_tokens")),
        cache_read_tokens=read,
        cache_write_tokens=write,
        reasoning_tokens=n(thinking),
    )


def _api_error(facts: dict[str, Any]) -> dict[str, Any] | None:
    """The API error the turn ended on: Claude Code's `<synthetic>` stand-in answer, with
    no real answer after it (a retry that worked is not a failure)."""
    error = facts.get("api_error")
    if not error:
        return None
    later = [m["t1"] for m in facts["msgs"].values() if m["t1"] > error["ts"]]
    return None if later else error


def _outcome(
    turn: dict[str, Any], outcome: str | None, facts: dict[str, Any]
) -> tuple[str, str | None, str | None]:
    """(outcome, error.type, error message). A turn with no Stop that ended on an API
    error failed (Claude Code 2.1.332 fires neither Stop nor StopFailure then)."""
    error = _api_error(facts)
    if outcome is None and error is not None:
        return sc.TURN_FAILED, "model_request_failed", error["text"]
    if outcome is None:
        interrupted = any(t.get("intr") for t in turn["tools"].values())
        outcome = sc.TURN_INTERRUPTED if interrupted else sc.TURN_UNFINISHED
    if outcome == sc.TURN_FAILED:
        return outcome, "model_request_failed", turn.get("failure")
    if outcome == sc.TURN_INTERRUPTED:
        return outcome, "interrupted", "turn interrupted"
    if outcome == sc.TURN_UNFINISHED:
        return outcome, "unfinished", "turn did not finish"
    return outcome, None, None


def build_spans(
    state: dict[str, Any],
    turn: dict[str, Any],
    facts: dict[str, Any],
    ctx: Context,
    outcome_in: str | None,
    reason: str,
    end: int,
) -> list[SpanData]:
    """The spans of a closed turn: its root (turn or sub-agent), one chat span per model
    response, one execute_tool span per tool call (hooked, batch-only or transcript-only)."""
    sid = state["sid"]
    trace = trace_of(state, turn)
    root = root_id(trace, turn)
    common = {"target": TARGET, "session_id": sid, "capture_content": ctx.capture_content}
    chats, total, model = _chat_spans(turn, facts, trace, root, common)
    tool_spans = _tool_spans(turn, facts, trace, root, end, common)
    outcome, err_type, err_msg = _outcome(turn, outcome_in, facts)
    users = [u["text"] for u in facts["user"] if u.get("text")]
    prompt = turn.get("prompt") or (users[0] if users else None)
    if turn.get("agent") and not prompt:
        prompt = next((u for u in users), None)
    texts = [
        b["text"]
        for m in facts["msgs"].values()
        for b in m.get("blocks") or []
        if b.get("type") == "text"
    ]
    response = turn.get("response") or (texts[-1] if texts else None)
    meta = state["meta"]
    extra: dict[str, Any] = {
        sc.CLAUDE_CODE_PROMPT_ID: turn.get("pid"),
        sc.CLAUDE_CODE_TURN_NUMBER: turn.get("num"),
        sc.STASO_CWD: turn.get("cwd") or meta.get("cwd"),
        sc.STASO_PERMISSION_MODE: turn.get("perm"),
        sc.STASO_COMPACTIONS: turn.get("compactions") or None,
        sc.CLAUDE_CODE_SESSION_SOURCE: meta.get("source") if not turn.get("agent") else None,
        sc.CLAUDE_CODE_TURN_SEGMENT: turn["seg"] or None,
    }
    if isinstance(prompt, str) and prompt.startswith(tools.TASK_NOTIFICATION):
        extra[sc.CLAUDE_CODE_TASK_NOTIFICATION] = True
        note = turn.get("note") or tools.background_note(prompt) or {}
        extra[sc.CLAUDE_CODE_BACKGROUND_CALL_ID] = note.get("call")
        extra[sc.CLAUDE_CODE_BACKGROUND_STATUS] = note.get("status")
        extra[sc.CLAUDE_CODE_BACKGROUND_EXIT_CODE] = note.get("exit")
    start = min([turn["t0"]] + [s.start_ns for s in chats + tool_spans])
    fields = {
        "start_ns": start,
        "end_ns": max([end, start] + [s.end_ns for s in chats + tool_spans]),
        "provider": PROVIDER,
        "agent_version": facts.get("version"),
        "model": model,
        "prompt": prompt,
        "response": response,
        "usage": total,
        "model_calls": len(chats),
        "outcome": outcome,
        "end_reason": reason,
        "error_type": err_type,
        "error_message": err_msg,
        **common,
    }
    if turn.get("agent"):
        agent_meta = turn.get("agent_meta") or {}
        extra[sc.STASO_AGENT_DEPTH] = agent_meta.get("spawnDepth")
        extra[sc.GEN_AI_TOOL_CALL_ID] = agent_meta.get("toolUseId")
        root_span = build.subagent_span(
            trace_id=trace,
            span_id=root,
            parent_span_id=int(turn["parent"], 16) if turn.get("parent") else None,
            agent_type=turn.get("agent_type") or "subagent",
            agent_id=turn["agent"],
            extra=extra,
            **fields,
        )
    else:
        root_span = build.turn_span(
            trace_id=trace,
            span_id=root,
            agent_name=AGENT_NAME,
            agent_id=ctx.agent_id,
            extra=extra,
            **fields,
        )
    return [root_span, *chats, *tool_spans]


def _chat_spans(
    turn: dict[str, Any],
    facts: dict[str, Any],
    trace: int,
    root: int,
    common: dict[str, Any],
) -> tuple[list[SpanData], Usage, str | None]:
    """One chat span per distinct message id; a request's start is its api-request line,
    or else the last thing the model waited for (the prompt or a tool result)."""
    reqs = facts["reqs"]
    waits = sorted(
        [turn["t0"]]
        + [u["ts"] for u in facts["user"]]
        + [r["ts"] for r in facts["results"].values()]
    )
    spans: list[SpanData] = []
    total = Usage()
    model = None
    agent_name = turn.get("agent_type") if turn.get("agent") else AGENT_NAME
    talk = exchanges(facts)
    first = next(iter(talk), None)
    for mid, msg in facts["msgs"].items():
        req = reqs.get(msg.get("rid") or "")
        waited = max([w for w in waits if w <= msg["t0"]], default=msg["t0"])
        start = req["ts"] if req else waited
        usage = usage_from(msg.get("usage"))
        if usage is not None:
            total = total + usage
        request_model = (req or {}).get("model") or msg.get("model")
        model = request_model or model
        stop = msg.get("stop")
        spans.append(
            build.chat_span(
                trace_id=trace,
                span_id=ids.span_id(trace, "chat", turn["id"], turn["seg"], mid),
                parent_span_id=root,
                start_ns=start,
                end_ns=msg["t1"],
                request_model=request_model,
                response_model=msg.get("model"),
                provider=PROVIDER,
                response_id=mid if not mid.startswith("msg@") else None,
                usage=usage,
                input_messages=talk[mid].inputs,
                output=talk[mid].outputs,
                input_scope=_input_scope(turn, mid == first),
                finish_reasons=[stop] if stop else None,
                agent_name=agent_name,
                error_type="model_request_failed" if msg.get("error") else None,
                error_message=msg.get("error"),
                extra={sc.CLAUDE_CODE_REQUEST_ID: msg.get("rid")},
                **common,
            )
        )
    return spans, total, model


def _input_scope(turn: dict[str, Any], first: bool) -> str:
    if not first:
        return sc.INPUT_SCOPE_SINCE_PREVIOUS
    if turn.get("num") == 1 and not turn.get("agent") and not turn["seg"]:
        return sc.INPUT_SCOPE_CONVERSATION_START
    return sc.INPUT_SCOPE_TURN_START


def _tool_spans(
    turn: dict[str, Any],
    facts: dict[str, Any],
    trace: int,
    root: int,
    end: int,
    common: dict[str, Any],
) -> list[SpanData]:
    calls, results = facts["calls"], facts["results"]
    cwd = turn.get("cwd")
    spans: list[SpanData] = []
    for use_id, tool in turn["tools"].items():
        call, result = calls.get(use_id, {}), results.get(use_id)
        ran = tool.get("ran", True) and not tool.get("denied")
        visible = tool.get("vis")
        if visible is None and result is not None:
            visible = result.get("content")
        o = tools.Outcome(
            response=tool.get("resp"),
            failure=tool.get("fail"),
            interrupted=bool(tool.get("intr")),
            duration_ms=tool.get("dur"),
            visible=visible,
            ran=ran,
            permission_requested=bool(tool.get("perm")),
            is_error=bool(result and result.get("is_error")) and not tool.get("resp"),
            background=tool.get("bg"),
        )
        if tool.get("skill") is not None:
            spans.append(_skill_command(trace, turn, use_id, root, tool, facts, cwd, common))
            continue
        t0 = tool["t0"] if tool["t0"] is not None else call.get("ts", tool["t1"] or end)
        t1 = tool["t1"]
        if t1 is None:
            t1 = result["ts"] if result else end
            if result is None:
                o = tools.Outcome(**{**o.__dict__, "failure": "the call did not complete"})
        if tool["t0"] is None and result is not None:
            t1 = min(t1, max(result["ts"], t0))  # never-ran calls end when answered
        args = tool.get("in") if tool.get("in") is not None else call.get("input")
        output = tool.get("resp") if ran and tool.get("resp") is not None else None
        if output is None:
            output = tool.get("fail") or tools.result_text(visible)
        source = "hook" if tool["t0"] is not None else "batch"
        spans.append(
            _tool(
                trace,
                turn,
                use_id,
                root,
                t0,
                t1,
                tool["name"],
                args,
                output,
                o,
                cwd,
                source,
                common,
            )
        )
    for use_id, call in calls.items():  # calls no hook saw: server-side tools, hooks off
        if use_id in turn["tools"]:
            continue
        result = results.get(use_id)
        o = tools.Outcome(
            visible=result and result.get("content"),
            response=result and result.get("structured"),
            is_error=bool(result and result.get("is_error")),
            failure=None if result or call.get("hosted") else "no result in the transcript",
        )
        t1 = result["ts"] if result else call["ts"]
        output = result.get("content") if result else None
        spans.append(
            _tool(
                trace,
                turn,
                use_id,
                root,
                call["ts"],
                t1,
                str(call.get("name") or "tool"),
                call.get("input"),
                output,
                o,
                cwd,
                "transcript",
                common,
            )
        )
    return spans


def _skill_command(
    trace: int,
    turn: dict[str, Any],
    use_id: str,
    root: int,
    tool: dict[str, Any],
    facts: dict[str, Any],
    cwd: str | None,
    common: dict[str, Any],
) -> SpanData:
    """A skill's `!cmd` preamble: it ran (Claude Code runs it before the model sees the
    skill), its end is the skill text reaching the transcript; no hook gives its output or
    exit code, so neither is claimed."""
    t0 = tool["t0"]
    t1 = min((ts for ts in facts.get("meta") or [] if ts >= t0), default=t0)
    extra = {sc.STASO_SKILL_NAME: tool["skill"] or None}
    extra[sc.CLAUDE_CODE_SKILL_SOURCE] = tool.get("skill_src")
    return _tool(
        trace, turn, use_id, root, t0, t1, tool["name"], tool.get("in"), None,
        tools.Outcome(), cwd, "skill", common, extra,
    )  # fmt: skip


def _tool(
    trace: int,
    turn: dict[str, Any],
    use_id: str,
    parent: int,
    t0: int,
    t1: int,
    name: str,
    args: Any,
    output: Any,
    o: tools.Outcome,
    cwd: str | None,
    source: str,
    common: dict[str, Any],
    extra: dict[str, Any] | None = None,
) -> SpanData:
    f = tools.facts(name, args, o, cwd)
    attrs = {**f.attrs, **(extra or {})}
    attrs[sc.STASO_TOOL_SOURCE] = source
    description = args.get("description") if isinstance(args, dict) else None
    return build.tool_span(
        trace_id=trace,
        span_id=tool_id(trace, turn, use_id),
        parent_span_id=parent,
        start_ns=t0,
        end_ns=t1,
        tool_name=name,
        call_id=use_id,
        tool_type=tools.tool_type(name),
        category=tools.category(name),
        arguments=args,
        result=output,
        description=description if isinstance(description, str) else None,
        facts=attrs,
        error_type=f.error_type,
        error_message=f.error_message,
        **common,
    )
