"""Closed turn -> SpanData: hook facts + rollout facts through the span builders. [targets/codex]

Pure: given a closed turn's hook-derived record (times, prompt, model calls, tool calls) and
the rollout facts attributed to it, build the turn's spans with `span/build.py`. Ids are
deterministic (trace = session + turn [+ segment]; span = trace + kind + call id), so a
span built twice is the same span.
"""

from __future__ import annotations

from typing import Any

from staso_otel import semconv as sc
from staso_otel.span import build, ids
from staso_otel.span.build import Usage
from staso_otel.span.messages import TextPart, ToolCallPart
from staso_otel.span.model import SpanData
from staso_otel.targets.base import Context
from staso_otel.targets.codex import events as ev_
from staso_otel.targets.codex import tools
from staso_otel.targets.codex.exchange import Exchange, exchange

TARGET = "codex"
AGENT_NAME = "codex"
PROVIDER = sc.PROVIDER_OPENAI


def trace_of(state: dict[str, Any], turn: dict[str, Any]) -> int:
    """A turn's trace: ids.trace_id("codex", session, turn_id) (+ segment after a blocked
    Stop); a sub-agent lives in the trace of the turn that spawned it."""
    if turn.get("trace"):
        return int(turn["trace"], 16)
    if turn["seg"]:
        return ids.trace_id(TARGET, state["sid"], turn["id"], turn["seg"])
    return ids.trace_id(TARGET, state["sid"], turn["id"])


def root_id(trace: int, turn: dict[str, Any]) -> int:
    """The span id of a turn's root (or of a sub-agent's invoke_agent span)."""
    if turn.get("agent"):
        if turn["seg"]:
            return ids.span_id(trace, "agent", turn["agent"], turn["id"], turn["seg"])
        return ids.span_id(trace, "agent", turn["agent"], turn["id"])
    return ids.span_id(trace, "turn")


def tool_id(trace: int, turn: dict[str, Any], call_id: str) -> int:
    """A tool call's span id. A sub-agent is another thread whose call ids may repeat its
    parent's, and its turns all live in the parent's trace, so its calls are keyed by
    agent and turn too."""
    if turn.get("agent"):  # its turns share the parent's trace: key by turn and segment
        return ids.span_id(trace, "tool", turn["agent"], turn["id"], turn["seg"], call_id)
    return ids.span_id(trace, "tool", call_id)


def _outcome(
    turn: dict[str, Any], facts: list[dict], outcome: str | None
) -> tuple[str, str | None, str | None]:
    """(outcome, error.type, error message)."""
    failed = [c for c in turn["calls"] if c[2] == "failed"]
    ends = [f for f in facts if f["k"] == "end"]
    if outcome is None:
        if failed or (ends and ends[-1]["how"] == "failed"):
            outcome = sc.TURN_FAILED
        elif ends and ends[-1]["how"] == "aborted":
            outcome = sc.TURN_INTERRUPTED
        elif ends:
            outcome = sc.TURN_COMPLETED
        else:
            outcome = sc.TURN_UNFINISHED
    if outcome == sc.TURN_FAILED:
        message = failed[-1][3] if failed else (ends[-1].get("error") if ends else None)
        return outcome, "model_request_failed", message
    if outcome == sc.TURN_INTERRUPTED:
        return outcome, "interrupted", "turn interrupted"
    if outcome == sc.TURN_UNFINISHED:
        return outcome, "unfinished", "turn did not finish"
    return outcome, None, None


def _match(queue: list[dict], usage: Usage) -> int | None:
    """The rollout usage record answering a model hook: hook and record carry the same
    usage object of the response, so the first record with exactly those counts (a record
    missing from the rollout must not shift every response id after it)."""
    return next((i for i, f in enumerate(queue) if ev_.usage_from(f.get("u")) == usage), None)


def build_spans(
    state: dict[str, Any],
    turn: dict[str, Any],
    facts: list[dict],
    ctx: Context,
    outcome_in: str | None,
    reason: str,
    end: int,
) -> list[SpanData]:
    """The spans of a closed turn: its root (turn or sub-agent), one chat span per model
    request, one execute_tool span per tool call (hooked or transcript-only)."""
    sid = state["sid"]
    trace = trace_of(state, turn)
    root = root_id(trace, turn)
    content = ctx.capture_content
    model = turn.get("model") or next(
        (f["model"] for f in reversed(facts) if f["k"] == "ctx" and f.get("model")), None
    )
    outcome, err_type, err_msg = _outcome(turn, facts, outcome_in)
    common = {"target": TARGET, "session_id": sid, "capture_content": content}
    spans: list[SpanData] = []

    chats, total = _chat_spans(state, turn, facts, trace, root, model, ctx, common)
    spans += chats
    spans += _tool_spans(turn, facts, trace, root, outcome, end, common)

    meta = state["meta"]
    fmeta = state["files"].get(turn.get("path") or "", {}).get("meta") or {}
    prompt = turn.get("prompt") or turn.get("task")  # a v2 sub-agent: its spawn's message
    if prompt is None:
        kinds = ("hookprompt", "user") if turn["seg"] else ("user", "hookprompt")
        for k in kinds:
            prompt = next((f.get("text") for f in facts if f["k"] == k and f.get("text")), None)
            if prompt:
                break
    response = turn.get("response") or next(
        (f["text"] for f in reversed(facts) if f["k"] == "msg" and f.get("text")), None
    )
    extra: dict[str, Any] = {
        sc.CODEX_TURN_ID: turn["id"],
        sc.CODEX_TURN_NUMBER: turn.get("num"),
        sc.STASO_CWD: turn.get("cwd") or meta.get("cwd"),
        sc.STASO_PERMISSION_MODE: turn.get("perm"),
        sc.CODEX_CLI_VERSION: fmeta.get("cli_version"),
        sc.STASO_COMPACTIONS: len(turn["compactions"]) or None,
        sc.CODEX_TURN_SEGMENT: turn["seg"] or None,
        sc.CODEX_STOP_HOOK_ACTIVE: True if turn.get("stop_active") or turn.get("blocks") else None,
    }
    # the root encloses its children even when its first hook came late (a slow hook) or
    # the rollout timed a call before it
    start = min([turn["t0"], *(s.start_ns for s in spans)])
    agent_fields = {
        "start_ns": start,
        "end_ns": max([end, start, *(s.end_ns for s in spans)]),
        "provider": PROVIDER,
        "agent_version": fmeta.get("cli_version"),
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
        extra[sc.CODEX_AGENT_PATH] = fmeta.get("agent_path")
        extra[sc.CODEX_AGENT_NICKNAME] = fmeta.get("agent_nickname")
        spans.insert(
            0,
            build.subagent_span(
                trace_id=trace,
                span_id=root,
                parent_span_id=int(turn["parent"], 16) if turn.get("parent") else None,
                agent_type=turn.get("agent_type") or "subagent",
                agent_id=turn["agent"],
                extra=extra,
                **agent_fields,
            ),
        )
    else:
        spans.insert(
            0,
            build.turn_span(
                trace_id=trace,
                span_id=root,
                agent_name=AGENT_NAME,
                agent_id=ctx.agent_id,
                extra=extra,
                **agent_fields,
            ),
        )
    return spans


def _chat_spans(
    state: dict[str, Any],
    turn: dict[str, Any],
    facts: list[dict],
    trace: int,
    root: int,
    model: str | None,
    ctx: Context,
    common: dict[str, Any],
) -> tuple[list[SpanData], Usage]:
    usage_facts = [f for f in facts if f["k"] == "usage"]
    windows = [(c[0], c[1] or turn["last"]) for c in turn["compactions"]]

    def in_window(f: dict) -> tuple[int, int] | None:
        return next(((a, b) for a, b in windows if a <= f["ts"] <= b), None)

    normal = [f for f in usage_facts if in_window(f) is None]
    # a request's messages: the items written between its usage record and the previous one
    contents: dict[int, Exchange] = {}
    prev_ts = -1
    for f in usage_facts:
        window = [g for g in facts if prev_ts < g["ts"] <= f["ts"] and g["k"] in _EXCHANGE]
        contents[id(f)] = exchange(window)
        prev_ts = f["ts"]

    # (start, end, usage, usage_source, response_id, content, status, error, kind)
    rows: list[tuple] = []
    hook_calls = [c + [None] * (9 - len(c)) for c in turn["calls"]]
    paired: set[int] = set()  # ids of usage facts a hook call answered
    if hook_calls:
        done = [c for c in hook_calls if c[2] != "failed" and c[1] is not None]
        pairs: dict[int, dict] = {}
        for i, call in enumerate(done):  # Codex 0.171+: the response id names the record
            f = next((f for f in usage_facts if call[8] and f.get("rid") == call[8]), None)
            if f is not None and id(f) not in paired:
                pairs[i] = f
                paired.add(id(f))
        # older releases: a compaction request fired no hook; its record stays for the
        # window it ran in, and the model hooks take the other records
        queue = [f for f in normal if id(f) not in paired]
        for i, call in enumerate(done):  # exact usage matches first ...
            usage = Usage.from_dict(call[4]) if call[4] else None
            at = _match(queue, usage) if usage is not None and i not in pairs else None
            if at is not None:
                pairs[i] = queue.pop(at)
        for i, call in enumerate(done):  # ... then the rest in order, never counting twice
            if i not in pairs and queue and not call[8]:
                pairs[i] = queue.pop(0)
        paired.update(id(f) for f in pairs.values())
        by_call = {id(call): pairs.get(i) for i, call in enumerate(done)}
        for call in hook_calls:
            t0, t1, status, error, usage, kind = call[:6]
            failed = status == "failed" or t1 is None
            f = by_call.get(id(call))
            u = Usage.from_dict(usage) if usage else None
            source = "hook" if u else None
            if u is None and f is not None and isinstance(f.get("u"), dict):
                u, source = ev_.usage_from(f["u"]), "transcript"
            if failed:
                error = error or ("request did not complete" if t1 is None else "failed")
            compaction = isinstance(kind, str) and "compact" in kind
            rows.append(
                (
                    t0,
                    t1 or turn["last"],
                    u,
                    source,
                    (f and f.get("rid")) or call[8],
                    None if compaction else f and contents.get(id(f)),
                    failed,
                    error,
                    "compaction" if compaction else "turn",
                )
            )
        leftovers = queue
    else:
        leftovers = normal
    boundaries = sorted(
        [turn["t0"]] + [g["ts"] for g in facts if g["k"] in ("out", "user", "usage", "start")]
    )
    for f in leftovers:
        start = max([b for b in boundaries if b < f["ts"]], default=f["ts"])
        u = ev_.usage_from(f.get("u"))
        rows.append(
            (
                start,
                f["ts"],
                u,
                "transcript",
                f.get("rid"),
                contents.get(id(f)),
                False,
                None,
                "turn",
            )
        )
    for f in usage_facts:
        window = in_window(f)
        if window is not None and id(f) not in paired:
            u = ev_.usage_from(f.get("u"))
            rows.append(
                (
                    window[0],
                    window[1],
                    u,
                    "transcript",
                    f.get("rid"),
                    None,
                    False,
                    None,
                    "compaction",
                )
            )
    rows.sort(key=lambda r: (r[0], r[1]))

    spans: list[SpanData] = []
    total = Usage()
    previous_kind = None
    for k, (t0, t1, u, source, rid, content, failed, error, kind) in enumerate(rows):
        if u is not None:
            total = total + u
        scope = None if kind == "compaction" else _input_scope(k, previous_kind, content)
        previous_kind = kind
        content = content or _NOTHING
        spans.append(
            build.chat_span(
                trace_id=trace,
                span_id=ids.span_id(trace, "chat", turn["id"], turn["seg"], k),
                parent_span_id=root,
                start_ns=t0,
                end_ns=t1,
                request_model=model,
                provider=PROVIDER,
                response_id=rid,
                usage=u,
                input_messages=content.inputs,
                output=content.outputs,
                input_scope=scope,
                finish_reasons=_finish_reasons(content, failed),
                agent_name=AGENT_NAME if not turn.get("agent") else turn.get("agent_type"),
                error_type="model_request_failed" if failed else None,
                error_message=error,
                extra={
                    sc.CODEX_REQUEST_KIND: kind,
                    sc.CODEX_USAGE_SOURCE: source,
                    sc.CODEX_TURN_ID: turn["id"],
                },
                **common,
            )
        )
    return spans, total


_EXCHANGE = ("in", "out", "think", "msg", "call")
_NOTHING = Exchange((), ())


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


def _tool_spans(
    turn: dict[str, Any],
    facts: list[dict],
    trace: int,
    root: int,
    outcome: str,
    end: int,
    common: dict[str, Any],
) -> list[SpanData]:
    calls = {f["id"]: f for f in facts if f["k"] == "call"}
    cwd = turn.get("cwd")
    outs = {f["id"]: f for f in facts if f["k"] == "out"}
    items = {f["id"]: f for f in facts if f["k"] == "item"}
    spans: list[SpanData] = []

    def parent_of(call_id: str) -> int:
        item = items.get(call_id)
        cell = item.get("parent") if item else None
        if cell and (cell in calls or cell in turn["tools"]):
            return tool_id(trace, turn, cell)
        return root

    for use_id, tool in turn["tools"].items():
        name = tools.canonical_hook_name(tool["hook"])
        call = calls.get(use_id)
        output = outs.get(use_id)
        item = items.get(use_id)
        args = call["args"] if call and call.get("args") is not None else tool.get("in")
        result = output["out"] if output else tool.get("resp")
        f = tools.facts(
            name, args, tool.get("resp"), item and item["item"], output and output["out"], cwd
        )
        t1 = tool["t1"]
        if t1 is None and output is not None:
            t1 = output["ts"]  # no PostToolUse (lost, or none for this tool): the rollout has it
        elif t1 is None:
            t1 = end
            if f.error_type is None:
                f.error_type = "interrupted" if outcome == sc.TURN_INTERRUPTED else "no_result"
                f.error_message = "tool call did not complete"
        attrs = dict(f.attrs)
        attrs[sc.STASO_TOOL_HOOK_NAME] = tool["hook"]
        attrs[sc.STASO_TOOL_SOURCE] = "hook"
        if tool.get("perm"):
            attrs[sc.STASO_TOOL_PERMISSION_REQUESTED] = True
        if item and item.get("parent"):
            attrs[sc.STASO_TOOL_PARENT_CALL_ID] = item["parent"]
        spans.append(
            _tool(
                trace,
                turn,
                use_id,
                parent_of(use_id),
                tool["t0"],
                t1,
                name,
                tools.parse_json(args),
                tools.parse_json(result),
                attrs,
                f,
                common,
            )
        )
    for call_id, call in calls.items():
        if call_id in turn["tools"]:
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
        spans.append(
            _tool(
                trace,
                turn,
                call_id,
                parent_of(call_id),
                t0,
                t1,
                call["name"],
                tools.parse_json(call.get("args")),
                tools.parse_json(output["out"]) if output else None,
                attrs,
                f,
                common,
            )
        )
    return spans


def _tool(
    trace: int,
    turn: dict[str, Any],
    call_id: str,
    parent: int,
    t0: int,
    t1: int,
    name: str,
    args: Any,
    result: Any,
    attrs: dict[str, Any],
    f: tools.ToolFacts,
    common: dict[str, Any],
) -> SpanData:
    return build.tool_span(
        trace_id=trace,
        span_id=tool_id(trace, turn, call_id),
        parent_span_id=parent,
        start_ns=t0,
        end_ns=t1,
        tool_name=name,
        call_id=call_id,
        tool_type=tools.tool_type(name),
        category=tools.category(name),
        arguments=args,
        result=result,
        facts=attrs,
        error_type=f.error_type,
        error_message=f.error_message,
        **common,
    )
