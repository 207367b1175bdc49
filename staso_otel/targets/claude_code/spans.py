"""What Claude Code knows of a closed unit, for the kernel's span assembler. [targets/claude_code]

Hook facts (the kernel's: times, prompt, tool calls) and the unit's transcript facts
(requests, deduplicated messages, tool_use/tool_result) become chat rows (one per
distinct message id), tool rows (hooked, batch-only, skill preambles and calls only the
transcript shows) and the root's attributes.
"""

from __future__ import annotations

from typing import Any

from staso_otel import semconv as sc
from staso_otel.span.build import Usage
from staso_otel.targets.base import Context
from staso_otel.targets.claude_code import tools
from staso_otel.targets.claude_code.exchange import exchanges
from staso_otel.turns.agent import ChatRow, Root, ToolRow, Verdict
from staso_otel.turns.assemble import SpanIds
from staso_otel.turns.state import Session, ToolCall, Turn


def usage_from(data: Any) -> Usage | None:
    """A transcript's or hook's Anthropic usage object -> Usage."""
    if not isinstance(data, dict):
        return None

    def n(value: Any) -> int:
        return int(value) if isinstance(value, (int, float)) else 0

    details = data.get("output_tokens_details")
    return Usage.anthropic(
        n(data.get("input_tokens")),
        n(data.get("output_tokens")),
        n(data.get("cache_read_input_tokens")),
        n(data.get("cache_creation_input_tokens")),
        n(details.get("thinking_tokens") if isinstance(details, dict) else None),
    )


class ClaudeSpans:
    tool_type = staticmethod(tools.tool_type)
    category = staticmethod(tools.category)

    def spawns_agents(self, tool_name: str) -> bool:
        return tool_name in tools.AGENT_TOOLS

    def verdict(self, turn: Turn, facts: dict[str, Any]) -> Verdict | None:
        """The API error the turn ended on: Claude Code's `<synthetic>` stand-in answer,
        with no real answer after it (a retry that worked is not a failure). Claude Code
        2.1.332 fires neither Stop nor StopFailure then."""
        error = facts.get("api_error")
        if not error:
            return None
        if any(m["t1"] > error["ts"] for m in facts["msgs"].values()):
            return None
        return Verdict(sc.TURN_FAILED, error["text"])

    def root(self, session: Session, turn: Turn, facts: dict[str, Any]) -> Root:
        users = [u["text"] for u in facts["user"] if u.get("text")]
        prompt = turn.prompt or (users[0] if users else None)
        texts = [
            b["text"]
            for m in facts["msgs"].values()
            for b in m.get("blocks") or []
            if b.get("type") == "text"
        ]
        attrs: dict[str, Any] = {
            sc.CLAUDE_CODE_PROMPT_ID: turn.parent_turn,
            sc.CLAUDE_CODE_TURN_NUMBER: turn.num,
            sc.CLAUDE_CODE_SESSION_SOURCE: session.meta.source if not turn.agent else None,
            sc.CLAUDE_CODE_TURN_SEGMENT: turn.seg or None,
        }
        if isinstance(prompt, str) and prompt.startswith(tools.TASK_NOTIFICATION):
            attrs[sc.CLAUDE_CODE_TASK_NOTIFICATION] = True
            note = turn.background or tools.background_note(prompt) or {}
            attrs[sc.CLAUDE_CODE_BACKGROUND_CALL_ID] = note.get("call")
            attrs[sc.CLAUDE_CODE_BACKGROUND_STATUS] = note.get("status")
            attrs[sc.CLAUDE_CODE_BACKGROUND_EXIT_CODE] = note.get("exit")
        if turn.agent:
            agent_meta = turn.extra.get("agent_meta") or {}
            attrs[sc.STASO_AGENT_DEPTH] = agent_meta.get("spawnDepth")
            attrs[sc.GEN_AI_TOOL_CALL_ID] = agent_meta.get("toolUseId")
            attrs[sc.STASO_AGENT_PARENT_INFERRED] = turn.extra.get("parent_inferred")
        response = turn.response or (texts[-1] if texts else None)
        return Root(attrs, prompt, response, facts.get("version"))

    def chat_rows(
        self, session: Session, turn: Turn, facts: dict[str, Any], ctx: Context
    ) -> tuple[list[ChatRow], str | None]:
        """One row per distinct message id; a request's start is its api-request line, or
        else the last thing the model waited for (the prompt or a tool result)."""
        reqs = facts["reqs"]
        waits = sorted(
            [turn.start]
            + [u["ts"] for u in facts["user"]]
            + [r["ts"] for r in facts["results"].values()]
        )
        rows: list[ChatRow] = []
        model = None
        talk = exchanges(facts)
        first = next(iter(talk), None)
        for mid, msg in facts["msgs"].items():
            req = reqs.get(msg.get("rid") or "")
            waited = max([w for w in waits if w <= msg["t0"]], default=msg["t0"])
            request_model = (req or {}).get("model") or msg.get("model")
            model = request_model or model
            stop = msg.get("stop")
            rows.append(
                ChatRow(
                    key=mid,
                    start=req["ts"] if req else waited,
                    end=msg["t1"],
                    usage=usage_from(msg.get("usage")),
                    request_model=request_model,
                    response_model=msg.get("model"),
                    response_id=mid if not mid.startswith("msg@") else None,
                    inputs=talk[mid].inputs,
                    outputs=talk[mid].outputs,
                    input_scope=_input_scope(turn, mid == first),
                    finish_reasons=[stop] if stop else None,
                    error_type="model_request_failed" if msg.get("error") else None,
                    error_message=msg.get("error"),
                    attributes={sc.CLAUDE_CODE_REQUEST_ID: msg.get("rid")},
                )
            )
        return rows, model

    def tool_rows(
        self,
        session: Session,
        turn: Turn,
        facts: dict[str, Any],
        span_ids: SpanIds,
        outcome: str,
        end: int,
    ) -> list[ToolRow]:
        calls, results = facts["calls"], facts["results"]
        cwd = turn.cwd
        root = span_ids.root
        rows: list[ToolRow] = []
        for use_id, tool in turn.tools.items():
            if "skill" in tool.extra:
                rows.append(_skill_command(use_id, root, tool, facts, cwd))
                continue
            rows.append(
                _hooked(use_id, root, tool, calls.get(use_id, {}), results.get(use_id), end, cwd)
            )
        for use_id, call in calls.items():  # calls no hook saw: server-side tools, hooks off
            if use_id in turn.tools:
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
            name = str(call.get("name") or "tool")
            rows.append(
                _tool(use_id, root, call["ts"], t1, name, call.get("input"), output, o, cwd,
                      "transcript")
            )  # fmt: skip
        return rows


def _input_scope(turn: Turn, first: bool) -> str:
    if not first:
        return sc.INPUT_SCOPE_SINCE_PREVIOUS
    if turn.num == 1 and not turn.agent and not turn.seg:
        return sc.INPUT_SCOPE_CONVERSATION_START
    return sc.INPUT_SCOPE_TURN_START


def _hooked(
    use_id: str,
    root: int,
    tool: ToolCall,
    call: dict[str, Any],
    result: dict[str, Any] | None,
    end: int,
    cwd: str | None,
) -> ToolRow:
    ran = tool.ran and not tool.denied
    visible = tool.visible
    if visible is None and result is not None:
        visible = result.get("content")
    failure = tool.error
    t0 = tool.start if tool.start is not None else call.get("ts", tool.end or end)
    t1 = tool.end
    if t1 is None:
        t1 = result["ts"] if result else end
        if result is None:
            failure = "the call did not complete"
    o = tools.Outcome(
        response=tool.response,
        failure=failure,
        interrupted=tool.interrupted,
        duration_ms=tool.duration_ms,
        visible=visible,
        ran=ran,
        permission_requested=tool.permission,
        is_error=bool(result and result.get("is_error")) and not tool.response,
        background=tool.background,
    )
    if tool.start is None and result is not None:
        t1 = min(t1, max(result["ts"], t0))  # never-ran calls end when answered
    args = tool.input if tool.input is not None else call.get("input")
    output = tool.response if ran and tool.response is not None else None
    if output is None:
        output = tool.error or tools.result_text(visible)
    source = "hook" if tool.start is not None else "batch"
    return _tool(use_id, root, t0, t1, tool.name, args, output, o, cwd, source)


def _skill_command(
    use_id: str, root: int, tool: ToolCall, facts: dict[str, Any], cwd: str | None
) -> ToolRow:
    """A skill's `!cmd` preamble: it ran (Claude Code runs it before the model sees the
    skill), its end is the skill text reaching the transcript; no hook gives its output or
    exit code, so neither is claimed."""
    t0 = tool.start if tool.start is not None else 0
    t1 = min((ts for ts in facts.get("meta") or [] if ts >= t0), default=t0)
    extra = {sc.STASO_SKILL_NAME: tool.extra["skill"] or None}
    extra[sc.CLAUDE_CODE_SKILL_SOURCE] = tool.extra.get("skill_src")
    return _tool(
        use_id, root, t0, t1, tool.name, tool.input, None, tools.Outcome(), cwd, "skill", extra
    )


def _tool(
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
    extra: dict[str, Any] | None = None,
) -> ToolRow:
    f = tools.facts(name, args, o, cwd)
    attrs = {**f.attrs, **(extra or {})}
    attrs[sc.STASO_TOOL_SOURCE] = source
    description = args.get("description") if isinstance(args, dict) else None
    return ToolRow(
        call_id=use_id,
        parent=parent,
        start=t0,
        end=t1,
        name=name,
        arguments=args,
        result=output,
        facts=attrs,
        description=description if isinstance(description, str) else None,
        error_type=f.error_type,
        error_message=f.error_message,
    )
