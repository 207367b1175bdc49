"""What Gemini CLI knows of a closed turn, for the kernel's span assembler. [targets/gemini]

Hook facts (the kernel's: times, prompt, model requests, tool calls) and the turn's
transcript facts (responses with tokens and tool calls, user records with the tool
results) become chat rows (one per response record, started at the latest BeforeModel
before it), tool rows (each hooked call matched to the transcript's first unclaimed call
of its name, for its id and status; then calls only the transcript shows) and the root's
attributes.
"""

from __future__ import annotations

from typing import Any

from staso_otel import semconv as sc
from staso_otel.span.build import Usage
from staso_otel.span.messages import (
    Message,
    Part,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    ToolCallResponsePart,
)
from staso_otel.targets.base import Context
from staso_otel.targets.gemini import tools
from staso_otel.turns.agent import ChatRow, Root, ToolRow, Verdict
from staso_otel.turns.assemble import SpanIds
from staso_otel.turns.state import Session, Turn


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
        first = prompt or (users[0] if users else None)
        return (Message(sc.ROLE_USER, (TextPart(first),)),) if first else ()
    return tuple(
        Message(sc.ROLE_TOOL, (ToolCallResponsePart(r.get("id"), r.get("response")),))
        for u in facts["user"]
        if after < u["ts"] <= upto
        for r in u.get("results") or []
    )


def _input_scope(turn: Turn, first: bool) -> str:
    if not first:
        return sc.INPUT_SCOPE_SINCE_PREVIOUS
    return sc.INPUT_SCOPE_CONVERSATION_START if turn.num == 1 else sc.INPUT_SCOPE_TURN_START


class GeminiSpans:
    tool_type = staticmethod(tools.tool_type)
    category = staticmethod(tools.category)

    def spawns_agents(self, tool_name: str) -> bool:
        return False  # no sub-agent hooks: no call's span is kept for one

    def verdict(self, turn: Turn, facts: dict[str, Any]) -> Verdict | None:
        """A turn with no AfterAgent whose transcript recorded an error after its last
        answer failed (the CLI gave up on the model request)."""
        error = facts.get("error")
        if not error or any(m["ts"] > error["ts"] for m in facts["msgs"].values()):
            return None
        return Verdict(sc.TURN_FAILED, error["text"] or "the model request failed")

    def root(self, session: Session, turn: Turn, facts: dict[str, Any]) -> Root:
        texts = [m["text"] for m in facts["msgs"].values() if m.get("text")]
        attrs = {
            sc.GEMINI_TURN_NUMBER: turn.num,
            sc.GEMINI_SESSION_SOURCE: session.meta.source,
        }
        # AfterAgent's prompt_response repeats the last streamed chunk (0.61.0): the
        # transcript's final answer is the clean one
        return Root(attrs, turn.prompt, texts[-1] if texts else turn.response)

    def chat_rows(
        self, session: Session, turn: Turn, facts: dict[str, Any], ctx: Context
    ) -> tuple[list[ChatRow], str | None]:
        """One row per response record; it started at the latest BeforeModel before it (a
        retried request fires BeforeModel again), else when the model was last waited on.
        With no transcript, one per BeforeModel, with what AfterModel said if subscribed."""
        starts = [c.start for c in turn.calls]
        records = [
            (mid, m["ts"], m.get("model"), usage_from(m.get("tokens")), _answer(m))
            for mid, m in facts["msgs"].items()
        ]
        if not records:
            records = [
                (f"request{i}", c.end or c.start, None,
                 Usage.from_dict(c.usage) if c.usage else None, ())
                for i, c in enumerate(turn.calls)
            ]  # fmt: skip
        rows: list[ChatRow] = []
        model = None
        previous: int | None = None
        for key, ts, response_model, usage, answer in records:
            floor = previous if previous is not None else turn.start
            began = [t for t in starts if floor <= t <= ts]
            request_model = turn.model or session.meta.model or response_model
            model = response_model or request_model or model
            rows.append(
                ChatRow(
                    key=key,
                    start=min(began[-1] if began else floor, ts),
                    end=ts,
                    usage=usage,
                    request_model=request_model,
                    response_model=response_model,
                    inputs=_inputs(facts, turn.prompt, previous, ts),
                    outputs=answer,
                    input_scope=_input_scope(turn, previous is None),
                    attributes={sc.GEMINI_MESSAGE_ID: key if key in facts["msgs"] else None},
                )
            )
            previous = ts
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
        calls = [
            (m["ts"], c)
            for m in facts["msgs"].values()
            for c in m.get("calls") or []
            if c.get("id")
        ]
        claimed: set[str] = set()
        root = span_ids.root
        rows: list[ToolRow] = []
        for key, tool in turn.tools.items():
            match = next(
                (c for _, c in calls if c["id"] not in claimed and c.get("name") == tool.name),
                None,
            )
            if match is not None:
                claimed.add(match["id"])
            t1 = tool.end if tool.end is not None else (match or {}).get("ts") or end
            t0 = tool.start if tool.start is not None else t1
            o = tools.Outcome(
                response=tool.response,
                status=(match or {}).get("status") or (None if tool.end else "cancelled"),
                permission_requested=tool.permission,
                duration_ms=(t1 - t0) // 1_000_000 if tool.end is not None else None,
            )
            call_id = (match or {}).get("id") or key
            rows.append(_row(call_id, root, t0, t1, tool.name, tool.input, o, turn.cwd, "hook"))
        for ts, call in calls:  # calls no hook saw (hooks installed mid-turn, a newer tool)
            if call["id"] in claimed:
                continue
            result = (call.get("result") or [{}])[0].get("response")
            o = tools.Outcome(response={"llmContent": _output(result)}, status=call.get("status"))
            t1 = max(call.get("ts") or ts, ts)
            name = str(call.get("name") or "tool")
            rows.append(
                _row(call["id"], root, ts, t1, name, call.get("args"), o, turn.cwd, "transcript")
            )
        return rows


def _output(result: Any) -> Any:
    """A transcript functionResponse's payload: {"output": text} or {"error": text}."""
    if isinstance(result, dict) and len(result) == 1:
        return next(iter(result.values()))
    return result


def _row(
    call_id: str,
    parent: int,
    t0: int,
    t1: int,
    name: str,
    args: Any,
    o: tools.Outcome,
    cwd: str | None,
    source: str,
) -> ToolRow:
    f = tools.facts(name, args, o, cwd)
    description = args.get("description") if isinstance(args, dict) else None
    return ToolRow(
        call_id=call_id,
        parent=parent,
        start=t0,
        end=max(t0, t1),
        name=name,
        arguments=args,
        result=tools.result_text(o.response),
        facts={**f.attrs, sc.STASO_TOOL_SOURCE: source},
        description=description if isinstance(description, str) else None,
        error_type=f.error_type,
        error_message=f.error_message,
    )
