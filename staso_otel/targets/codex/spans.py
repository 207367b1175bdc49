"""What Codex knows of a closed turn, for the kernel's span assembler. [targets/codex]

Hook facts (the kernel's: times, prompt, model and tool calls) and the rollout facts of
the turn become chat rows (a model hook call paired with the rollout's usage record of
its response), tool rows (hooked calls and those only the rollout shows) and the root's
attributes.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from staso_otel import semconv as sc
from staso_otel.span.build import Usage
from staso_otel.span.messages import TextPart, ToolCallPart
from staso_otel.targets.base import Context
from staso_otel.targets.codex import tools
from staso_otel.targets.codex.events import usage_from
from staso_otel.targets.codex.exchange import Exchange, exchange
from staso_otel.turns.agent import ChatRow, Root, ToolRow, Verdict
from staso_otel.turns.assemble import SpanIds
from staso_otel.turns.state import ModelCall, Session, Turn

_EXCHANGE = ("in", "out", "think", "msg", "call")
_NOTHING = Exchange((), ())


class CodexSpans:
    tool_type = staticmethod(tools.tool_type)
    category = staticmethod(tools.category)

    def spawns_agents(self, tool_name: str) -> bool:
        return tools.canonical_hook_name(tool_name) == "spawn_agent"

    def verdict(self, turn: Turn, facts: list[dict]) -> Verdict | None:
        """The rollout's task_complete / turn_aborted / failure of the turn."""
        ends = [f for f in facts if f["k"] == "end"]
        if not ends:
            return None
        if ends[-1]["how"] == "failed":
            return Verdict(sc.TURN_FAILED, ends[-1].get("error"))
        if ends[-1]["how"] == "aborted":
            return Verdict(sc.TURN_INTERRUPTED)
        return Verdict(sc.TURN_COMPLETED)

    def root(self, session: Session, turn: Turn, facts: list[dict]) -> Root:
        fmeta = session.files.get(turn.path or "", {}).get("meta") or {}
        prompt = turn.prompt or turn.task  # a v2 sub-agent: its spawn's message
        if prompt is None:
            kinds = ("hookprompt", "user") if turn.seg else ("user", "hookprompt")
            for k in kinds:
                prompt = next((f.get("text") for f in facts if f["k"] == k and f.get("text")), None)
                if prompt:
                    break
        response = turn.response or next(
            (f["text"] for f in reversed(facts) if f["k"] == "msg" and f.get("text")), None
        )
        attrs: dict[str, Any] = {
            sc.CODEX_TURN_ID: turn.key,
            sc.CODEX_TURN_NUMBER: turn.num,
            sc.CODEX_CLI_VERSION: fmeta.get("cli_version"),
            sc.CODEX_TURN_SEGMENT: turn.seg or None,
            sc.CODEX_STOP_HOOK_ACTIVE: True if turn.stop_active or turn.blocks else None,
        }
        if turn.agent:
            attrs[sc.CODEX_AGENT_PATH] = fmeta.get("agent_path")
            attrs[sc.CODEX_AGENT_NICKNAME] = fmeta.get("agent_nickname")
        return Root(attrs, prompt, response, fmeta.get("cli_version"))

    def chat_rows(
        self, session: Session, turn: Turn, facts: list[dict], ctx: Context
    ) -> tuple[list[ChatRow], str | None]:
        """One row per model request: the hooked ones (Codex 0.171+ names each request;
        older releases fire no hook for a compaction request), paired with the rollout's
        usage record of their response, then the records no hook answered."""
        model = turn.model or next(
            (f["model"] for f in reversed(facts) if f["k"] == "ctx" and f.get("model")), None
        )
        usage_facts = [f for f in facts if f["k"] == "usage"]
        windows = [(w.start, w.end or turn.last) for w in turn.compactions]

        def in_window(f: dict) -> tuple[int, int] | None:
            return next(((a, b) for a, b in windows if a <= f["ts"] <= b), None)

        normal = [f for f in usage_facts if in_window(f) is None]
        # a request's messages: the items written between its usage record and the one before
        contents: dict[int, Exchange] = {}
        prev_ts = -1
        for f in usage_facts:
            window = [g for g in facts if prev_ts < g["ts"] <= f["ts"] and g["k"] in _EXCHANGE]
            contents[id(f)] = exchange(window)
            prev_ts = f["ts"]

        rows: list[_Row] = []
        paired: set[int] = set()  # ids of usage facts a hook call answered
        leftovers = normal
        if turn.calls:
            by_call, leftovers = _pair(turn.calls, usage_facts, normal, paired)
            for call in turn.calls:
                rows.append(_hooked(turn, call, by_call.get(id(call)), contents))
        boundaries = sorted(
            [turn.start] + [g["ts"] for g in facts if g["k"] in ("out", "user", "usage", "start")]
        )
        for f in leftovers:
            start = max([b for b in boundaries if b < f["ts"]], default=f["ts"])
            rows.append(
                _Row(start, f["ts"], usage_from(f.get("u")), "transcript", f.get("rid"),
                     contents.get(id(f)), False, None, "turn")
            )  # fmt: skip
        for f in usage_facts:
            window = in_window(f)
            if window is not None and id(f) not in paired:
                rows.append(
                    _Row(window[0], window[1], usage_from(f.get("u")), "transcript",
                         f.get("rid"), None, False, None, "compaction")
                )  # fmt: skip
        rows.sort(key=lambda r: (r.start, r.end))
        out: list[ChatRow] = []
        previous_kind = None
        for k, r in enumerate(rows):
            scope = None if r.kind == "compaction" else _input_scope(k, previous_kind, r.content)
            previous_kind = r.kind
            content = r.content or _NOTHING
            out.append(
                ChatRow(
                    key=k,
                    start=r.start,
                    end=r.end,
                    usage=r.usage,
                    request_model=model,
                    response_id=r.rid,
                    inputs=content.inputs,
                    outputs=content.outputs,
                    input_scope=scope,
                    finish_reasons=_finish_reasons(content, r.failed),
                    error_type="model_request_failed" if r.failed else None,
                    error_message=r.error,
                    attributes={
                        sc.CODEX_REQUEST_KIND: r.kind,
                        sc.CODEX_USAGE_SOURCE: r.source,
                        sc.CODEX_TURN_ID: turn.key,
                    },
                )
            )
        return out, model

    def tool_rows(
        self,
        session: Session,
        turn: Turn,
        facts: list[dict],
        span_ids: SpanIds,
        outcome: str,
        end: int,
    ) -> list[ToolRow]:
        calls = {f["id"]: f for f in facts if f["k"] == "call"}
        cwd = turn.cwd
        outs = {f["id"]: f for f in facts if f["k"] == "out"}
        items = {f["id"]: f for f in facts if f["k"] == "item"}
        rows: list[ToolRow] = []

        def parent_of(call_id: str) -> int:
            item = items.get(call_id)
            cell = item.get("parent") if item else None
            if cell and (cell in calls or cell in turn.tools):
                return span_ids.tool(cell)
            return span_ids.root

        for use_id, tool in turn.tools.items():
            name = tools.canonical_hook_name(tool.name)
            call = calls.get(use_id)
            output = outs.get(use_id)
            item = items.get(use_id)
            args = call["args"] if call and call.get("args") is not None else tool.input
            result = output["out"] if output else tool.response
            f = tools.facts(
                name, args, tool.response, item and item["item"], output and output["out"], cwd
            )
            t1 = tool.end
            if t1 is None and output is not None:
                t1 = output[
                    "ts"
                ]  # no PostToolUse (lost, or none for this tool): the rollout has it
            elif t1 is None:
                t1 = end
                if f.error_type is None:
                    f.error_type = "interrupted" if outcome == sc.TURN_INTERRUPTED else "no_result"
                    f.error_message = "tool call did not complete"
            attrs = dict(f.attrs)
            attrs[sc.STASO_TOOL_HOOK_NAME] = tool.name
            attrs[sc.STASO_TOOL_SOURCE] = "hook"
            if tool.permission:
                attrs[sc.STASO_TOOL_PERMISSION_REQUESTED] = True
            if item and item.get("parent"):
                attrs[sc.STASO_TOOL_PARENT_CALL_ID] = item["parent"]
            start = tool.start if tool.start is not None else t1
            rows.append(_tool(use_id, parent_of(use_id), start, t1, name, args, result, attrs, f))
        for call_id, call in calls.items():
            if call_id in turn.tools:
                continue
            output = outs.get(call_id)
            item = items.get(call_id)
            f = tools.facts(
                call["name"],
                call.get("args"),
                None,
                item and item["item"],
                output and output["out"],
                cwd,
            )
            t0 = item.get("t0", call["ts"]) if item and call.get("hosted") else call["ts"]
            t1 = output["ts"] if output else (item.get("t1", call["ts"]) if item else call["ts"])
            attrs = dict(f.attrs)
            if output is None and not call.get("hosted") and f.error_type is None:
                f.error_type, f.error_message = "no_result", "no output in the transcript"
                if item is None:  # no hook, no output, no record of it running: it never ran
                    attrs[sc.STASO_TOOL_EXECUTED] = False
            attrs[sc.STASO_TOOL_SOURCE] = "transcript"
            result = output["out"] if output else None
            rows.append(
                _tool(call_id, parent_of(call_id), t0, t1, call["name"], call.get("args"),
                      result, attrs, f)
            )  # fmt: skip
        return rows


class _Row(NamedTuple):
    """A model request before it is numbered."""

    start: int
    end: int
    usage: Usage | None
    source: str | None  # where its usage came from: hook | transcript
    rid: str | None
    content: Exchange | None
    failed: bool
    error: str | None
    kind: str  # turn | compaction


def _match(queue: list[dict], usage: Usage) -> int | None:
    """The rollout usage record answering a model hook: hook and record carry the same
    usage object of the response, so the first record with exactly those counts (a record
    missing from the rollout must not shift every response id after it)."""
    return next((i for i, f in enumerate(queue) if usage_from(f.get("u")) == usage), None)


def _pair(
    calls: list[ModelCall], usage_facts: list[dict], normal: list[dict], paired: set[int]
) -> tuple[dict[int, dict | None], list[dict]]:
    """Each answered hook call's rollout usage record (by id(call)), and the records no
    call took."""
    done = [c for c in calls if c.status != "failed" and c.end is not None]
    pairs: dict[int, dict] = {}
    for i, call in enumerate(done):  # Codex 0.171+: the response id names the record
        f = next(
            (f for f in usage_facts if call.response_id and f.get("rid") == call.response_id), None
        )
        if f is not None and id(f) not in paired:
            pairs[i] = f
            paired.add(id(f))
    # older releases: a compaction request fired no hook; its record stays for the window
    # it ran in, and the model hooks take the other records
    queue = [f for f in normal if id(f) not in paired]
    for i, call in enumerate(done):  # exact usage matches first ...
        usage = Usage.from_dict(call.usage) if call.usage else None
        at = _match(queue, usage) if usage is not None and i not in pairs else None
        if at is not None:
            pairs[i] = queue.pop(at)
    for i, call in enumerate(done):  # ... then the rest in order, never counting twice
        if i not in pairs and queue and not call.response_id:
            pairs[i] = queue.pop(0)
    found = {id(call): pairs.get(i) for i, call in enumerate(done)}
    # A request no PostModelRequest answered (an async hook that came after the turn
    # closed, or lost) was answered all the same if the rollout recorded a response after
    # it started: that record is its answer, not a model call of its own.
    for call in calls:
        if call.end is None and call.status != "failed":
            at = next((k for k, f in enumerate(queue) if f["ts"] >= call.start), None)
            if at is not None:
                found[id(call)] = queue.pop(at)
    paired.update(id(f) for f in found.values() if f is not None)
    return found, queue


def _hooked(turn: Turn, call: ModelCall, f: dict | None, contents: dict[int, Exchange]) -> _Row:
    answered = call.end is None and f is not None  # by the rollout alone (see _pair)
    failed = call.status == "failed" or (call.end is None and not answered)
    u = Usage.from_dict(call.usage) if call.usage else None
    source = "hook" if u else None
    if u is None and f is not None and isinstance(f.get("u"), dict):
        u, source = usage_from(f["u"]), "transcript"
    error = call.error
    if failed:
        error = error or ("request did not complete" if call.end is None else "failed")
    compaction = isinstance(call.kind, str) and "compact" in call.kind
    end = call.end or (f["ts"] if answered and f is not None else turn.last)
    return _Row(
        call.start,
        end,
        u,
        source,
        (f and f.get("rid")) or call.response_id,
        None if compaction else f and contents.get(id(f)),
        failed,
        error,
        "compaction" if compaction else "turn",
    )


def _finish_reasons(content: Exchange, failed: bool) -> list[str] | None:
    """The Responses API has no finish reason; the GenAI conventions' values follow from
    how the answer ended: calling tools, a final message, or a failed request."""
    if failed:
        return [sc.FINISH_ERROR]
    parts = [p for m in content.outputs for p in m.parts]
    if any(isinstance(p, ToolCallPart) for p in parts):
        return [sc.FINISH_TOOL_CALL]
    if any(isinstance(p, TextPart) for p in parts):
        return [sc.FINISH_STOP]
    return None


def _input_scope(index: int, previous_kind: str | None, content: Exchange | None) -> str:
    if previous_kind == "compaction":
        return sc.INPUT_SCOPE_AFTER_COMPACTION
    if index > 0:
        return sc.INPUT_SCOPE_SINCE_PREVIOUS
    if content is not None and content.starts_conversation:
        return sc.INPUT_SCOPE_CONVERSATION_START
    return sc.INPUT_SCOPE_TURN_START


def _tool(
    call_id: str,
    parent: int,
    t0: int,
    t1: int,
    name: str,
    args: Any,
    result: Any,
    attrs: dict[str, Any],
    f: tools.ToolFacts,
) -> ToolRow:
    return ToolRow(
        call_id=call_id,
        parent=parent,
        start=t0,
        end=t1,
        name=name,
        arguments=tools.parse_json(args),
        result=tools.parse_json(result),
        facts=attrs,
        error_type=f.error_type,
        error_message=f.error_message,
    )
