"""The one span assembler: a closed unit + the agent's facts -> SpanData. [turns]

Pure over what it is given: the unit's hook facts (the kernel's), its transcript facts
and what the agent makes of them (chat rows, tool rows, root attributes), built through
`span/build.py`. Ids are deterministic (trace = agent + session + turn [+ segment], or the
parent's for a sub-agent; span = trace + kind + the agent's own id), so a span built twice
is the same span, and a sub-agent closed after its parent still finds its parent's ids.
"""

from __future__ import annotations

from typing import Any

from staso_otel import semconv as sc
from staso_otel.span import build, ids
from staso_otel.span.build import Usage
from staso_otel.span.model import SpanData
from staso_otel.turns.agent import Agent, ChatRow, ToolRow
from staso_otel.turns.context import Context
from staso_otel.turns.state import Session, Turn


def trace_for(agent: str, session_id: str | None, key: str, seg: int) -> int:
    """A main turn's trace: agent + session + turn (+ segment after a blocked Stop)."""
    if seg:
        return ids.trace_id(agent, session_id, key, seg)
    return ids.trace_id(agent, session_id, key)


class SpanIds:
    """The span ids of one unit: its trace, its root, its tool and chat spans."""

    def __init__(self, agent: Agent, session: Session, turn: Turn) -> None:
        self.agent, self.turn = agent, turn
        if turn.trace:  # a sub-agent lives in the trace of the turn that spawned it
            self.trace = int(turn.trace, 16)
        else:
            self.trace = trace_for(agent.name, session.session_id, turn.key, turn.seg)
        # once per unit: every chat span (and the Codex tool rows) parent on it
        if turn.agent:
            self.root = agent.subagent_ids(self.trace, turn, None)
        else:
            self.root = ids.span_id(self.trace, "turn")

    def tool(self, call_id: str) -> int:
        if self.turn.agent:  # a sub-agent shares its parent's trace: its own keys
            return self.agent.subagent_ids(self.trace, self.turn, call_id)
        return ids.span_id(self.trace, "tool", call_id)

    def chat(self, key: Any) -> int:
        return ids.span_id(self.trace, "chat", self.turn.key, self.turn.seg, key)


def _outcome(
    agent: Agent, turn: Turn, facts: Any, outcome: str | None
) -> tuple[str, str | None, str | None]:
    """(outcome, error.type, error message). Undecided: a failed model request (hooked),
    then the transcript's word, then an interrupted tool call; else unfinished."""
    failed = [c for c in turn.calls if c.status == "failed"]
    message = failed[-1].error if failed else None
    if outcome is None:
        verdict = agent.verdict(turn, facts)
        if failed:
            outcome = sc.TURN_FAILED
        elif verdict is not None:
            outcome, message = verdict.outcome, verdict.error
        elif any(t.interrupted for t in turn.tools.values()):
            outcome = sc.TURN_INTERRUPTED
        else:
            outcome = sc.TURN_UNFINISHED
    elif outcome == sc.TURN_FAILED:
        message = turn.failure
    if outcome == sc.TURN_FAILED:
        return outcome, "model_request_failed", message
    if outcome == sc.TURN_INTERRUPTED:
        return outcome, "interrupted", "turn interrupted"
    if outcome == sc.TURN_UNFINISHED:
        return outcome, "unfinished", "turn did not finish"
    return outcome, None, None


def build_spans(
    agent: Agent,
    session: Session,
    turn: Turn,
    facts: Any,
    ctx: Context,
    outcome_in: str | None,
    reason: str,
    end: int,
) -> list[SpanData]:
    """The spans of a closed unit: its root (turn or sub-agent), one chat span per model
    call, one execute_tool span per tool call the agent knows of."""
    span_ids = SpanIds(agent, session, turn)
    trace, root = span_ids.trace, span_ids.root
    common = {
        "target": agent.name,
        "session_id": session.session_id,
        "capture_content": ctx.capture_content,
    }
    outcome, err_type, err_msg = _outcome(agent, turn, facts, outcome_in)
    rows, model = agent.chat_rows(session, turn, facts, ctx)
    chats = [_chat(agent, span_ids, turn, r, common) for r in rows]
    tools = [
        _tool(agent, span_ids, r, common)
        for r in agent.tool_rows(session, turn, facts, span_ids, outcome, end)
    ]
    total = Usage()
    for r in rows:
        if r.usage is not None:
            total = total + r.usage
    info = agent.root(session, turn, facts)
    extra = {
        sc.STASO_CWD: turn.cwd or session.meta.cwd,
        sc.STASO_PERMISSION_MODE: turn.permission_mode,
        sc.STASO_COMPACTIONS: len(turn.compactions) or None,
        **info.attributes,
    }
    children = chats + tools
    # the root encloses its children even when its first hook came late (a slow hook) or
    # the transcript timed a call before it
    start = min([turn.start, *(s.start_ns for s in children)])
    fields = {
        "start_ns": start,
        "end_ns": max([end, start, *(s.end_ns for s in children)]),
        "provider": agent.provider,
        "agent_version": info.version,
        "model": model,
        "prompt": info.prompt,
        "response": info.response,
        "usage": total,
        "model_calls": len(chats),
        "outcome": outcome,
        "end_reason": reason,
        "error_type": err_type,
        "error_message": err_msg,
        "extra": extra,
        **common,
    }
    if turn.agent:
        root_span = build.subagent_span(
            trace_id=trace,
            span_id=root,
            parent_span_id=int(turn.parent, 16) if turn.parent else None,
            agent_type=turn.agent_type or "subagent",
            agent_id=turn.agent,
            **fields,
        )
    else:
        root_span = build.turn_span(
            trace_id=trace,
            span_id=root,
            agent_name=agent.agent_name,
            agent_id=ctx.agent_id,
            **fields,
        )
    return [root_span, *children]


def _chat(
    agent: Agent, span_ids: SpanIds, turn: Turn, r: ChatRow, common: dict[str, Any]
) -> SpanData:
    return build.chat_span(
        trace_id=span_ids.trace,
        span_id=span_ids.chat(r.key),
        parent_span_id=span_ids.root,
        start_ns=r.start,
        end_ns=r.end,
        request_model=r.request_model,
        response_model=r.response_model,
        provider=agent.provider,
        response_id=r.response_id,
        usage=r.usage,
        input_messages=r.inputs,
        output=r.outputs,
        input_scope=r.input_scope,
        finish_reasons=r.finish_reasons,
        agent_name=turn.agent_type if turn.agent else agent.agent_name,
        error_type=r.error_type,
        error_message=r.error_message,
        extra=r.attributes,
        **common,
    )


def _tool(agent: Agent, span_ids: SpanIds, r: ToolRow, common: dict[str, Any]) -> SpanData:
    return build.tool_span(
        trace_id=span_ids.trace,
        span_id=span_ids.tool(r.call_id),
        parent_span_id=r.parent,
        start_ns=r.start,
        end_ns=r.end,
        tool_name=r.name,
        call_id=r.call_id,
        tool_type=agent.tool_type(r.name),
        category=agent.category(r.name),
        arguments=r.arguments,
        result=r.result,
        description=r.description,
        facts=r.facts,
        error_type=r.error_type,
        error_message=r.error_message,
        **common,
    )
