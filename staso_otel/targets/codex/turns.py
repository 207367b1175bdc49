"""The per-session reducer: Codex events + rollout facts -> finished turn traces. [targets/codex]

`process(state, records, ctx)` folds journal records into the session state and returns
the spans of every turn that closed; `expire(state, ctx)` closes what is still open as
unfinished. A turn's spans are built once, when it closes (Stop, Interrupt, SubagentStop,
a failed request followed by SessionEnd or the next turn), because only then does the
rollout hold its exit codes, diffs and response ids; so no span is ever emitted twice,
however the records are split into batches.

Timing: hook receipt times bound turns, model calls and tool calls; transcript timestamps
time what fired no hook (hosted web search, write_stdin, update_plan, code-mode `exec`
cells, model calls of Codex releases without model hooks).

State (JSON, saved after every batch) holds only open turns, per-file rollout offsets and
the rollout facts of turns not yet closed, so its size does not grow with the session.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any

from staso_otel import semconv as sc
from staso_otel.record.journal import Record
from staso_otel.span import ids
from staso_otel.span.model import SpanData
from staso_otel.targets.base import Context
from staso_otel.targets.codex import assemble, tools, transcript
from staso_otel.targets.codex import events as ev_
from staso_otel.targets.codex.events import Event

TARGET = assemble.TARGET
STATE_VERSION = 1
MAX_CLOSED = 64  # turn ids remembered after closing (late events, Stop continuations)
# Hook content (tool input/response) waits in the state, rewritten after every event,
# until its turn closes; the rollout has the same content, so keep only a bounded copy.
MAX_HOOK_TEXT = 32 * 1024
MAX_FILES = 64  # rollout offsets kept (the session's own + recent sub-agents')
MAX_AGENTS = 256


def _hex(n: int) -> str:
    return f"{n:x}"


def _init(state: dict[str, Any]) -> None:
    if state.get("v") != STATE_VERSION:
        state.clear()
        state.update(
            {
                "v": STATE_VERSION,
                "sid": None,
                "n": 0,
                "meta": {},
                "turns": {},
                "agents": {},
                "spawns": {},
                "files": {},
                "tx": {},
                "closed": {},
            }
        )


def process(state: dict[str, Any], records: Sequence[Record], ctx: Context) -> list[SpanData]:
    """Fold `records` (journal order) into `state`; return spans of turns that closed."""
    _init(state)
    out: list[SpanData] = []
    for record in records:
        event = ev_.parse(record)
        if event is None:
            continue
        state["sid"] = state["sid"] or event.session_id
        _apply(state, event, ctx, out)
    for turn in [t for t in state["turns"].values() if t.get("stopped") is not None]:
        _settle(state, turn, ctx, out)
    state["poll"] = any(t.get("stopped") is not None for t in state["turns"].values())
    return out


def expire(state: dict[str, Any], ctx: Context) -> list[SpanData]:
    """Close every open turn as unfinished (sub-agents first, then their parents)."""
    _init(state)
    out: list[SpanData] = []
    for key in _open_keys(state, subagents_first=True):
        turn = state["turns"][key]
        _close(state, turn, ctx, out, sc.TURN_UNFINISHED, "expired", ctx.now_ns, turn["last"])
    return out


# --- event handling ------------------------------------------------------------------------


def _open_keys(state: dict[str, Any], subagents_first: bool = False) -> list[str]:
    keys = list(state["turns"])
    if subagents_first:
        keys.sort(key=lambda k: state["turns"][k].get("agent") is None)
    return keys


def _apply(state: dict[str, Any], e: Event, ctx: Context, out: list[SpanData]) -> None:
    meta = state["meta"]
    if e.model and not e.agent_id:
        meta["model"] = e.model
    if e.cwd:
        meta.setdefault("cwd", e.cwd)
    kind = e.kind
    if kind == ev_.SESSION_START:
        if e.source == "startup" and e.transcript_path:
            state["fresh"] = e.transcript_path  # a new rollout: read it from byte 0
        # It closes nothing: with async hooks it may be journaled after the turn it precedes,
        # and a turn a previous process left open is closed by the next turn's first event.
        return
    if kind == ev_.SESSION_END:
        _close_all(state, ctx, out, "session_end", e.t, main_only=False)
        return
    if kind == ev_.SUBAGENT_START:
        _open_subagent(state, e)
        return
    if e.turn_id is None or kind == "other":
        return  # unknown events (a newer Codex) must not open turns
    if kind == ev_.SUBAGENT_STOP:
        turn = state["turns"].get(e.turn_id)
        if turn is not None:
            turn["response"] = e.last_message or turn.get("response")
            turn["last"] = e.t
            _close(state, turn, ctx, out, sc.TURN_COMPLETED, "subagent_stop", e.t, e.t)
        return
    turn = _turn_for(state, e, ctx, out)
    if not turn:
        return
    turn["last"] = max(turn["last"], e.t)
    if kind != ev_.STOP and turn.get("stopped") is not None and e.t > turn["stopped"]:
        turn["stopped"] = None  # a Stop hook blocked: the same turn goes on
        turn["blocks"] = turn.get("blocks", 0) + 1
    turn["model"] = turn.get("model") or e.model
    turn["path"] = turn.get("path") or e.transcript_path
    turn["perm"] = e.permission_mode or turn.get("perm")
    turn["cwd"] = turn.get("cwd") or e.cwd
    if kind == ev_.USER_PROMPT_SUBMIT:
        turn["prompt"] = e.prompt[: transcript.MAX_TEXT] if e.prompt else None
    elif kind == ev_.PRE_MODEL_REQUEST:
        turn["calls"].append([e.t, None, None, None, None, *_request_keys(e)])
    elif kind == ev_.POST_MODEL_REQUEST:
        _post_model(turn, e)
    elif kind == ev_.PRE_TOOL_USE:
        _pre_tool(turn, e)
    elif kind == ev_.PERMISSION_REQUEST:
        _permission(turn, e)
    elif kind == ev_.POST_TOOL_USE:
        _post_tool(state, turn, e)
    elif kind == ev_.PRE_COMPACT:
        turn["compactions"].append([e.t, None, e.trigger])
    elif kind == ev_.POST_COMPACT:
        open_ = [c for c in turn["compactions"] if c[1] is None]
        if open_:
            open_[-1][1] = e.t
        else:
            turn["compactions"].append([e.t, e.t, e.trigger])
    elif kind == ev_.STOP:
        turn["response"] = e.last_message or turn.get("response")
        turn["stop_active"] = turn.get("stop_active") or e.stop_hook_active
        if turn.get("agent") or not os.path.isfile(turn.get("path") or ""):  # nothing to wait on
            _close(state, turn, ctx, out, sc.TURN_COMPLETED, "stop", e.t, e.t)
        else:  # another Stop hook may block it: the rollout tells when the turn is over
            turn["stopped"] = max(e.t, turn.get("stopped") or 0)
    elif kind == ev_.INTERRUPT:
        turn["interrupted"] = e.t
        _close(state, turn, ctx, out, sc.TURN_INTERRUPTED, "interrupt", e.t, e.t)


def _cap(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_HOOK_TEXT:
        return value[:MAX_HOOK_TEXT]
    if isinstance(value, (dict, list)):
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        return text[:MAX_HOOK_TEXT] if len(text) > MAX_HOOK_TEXT else value
    return value


def _new_turn(turn_id: str, t: int, **extra: Any) -> dict[str, Any]:
    turn = {
        "id": turn_id,
        "seg": 0,
        "num": None,
        "t0": t,
        "last": t,
        "prompt": None,
        "model": None,
        "path": None,
        "agent": None,
        "calls": [],
        "tools": {},
        "perm_pending": [],
        "compactions": [],
        "response": None,
    }
    turn.update(extra)
    return turn


def _turn_for(
    state: dict[str, Any], e: Event, ctx: Context, out: list[SpanData]
) -> dict[str, Any] | None:
    """The open turn this event belongs to, opening one if needed; None for a late event
    of a turn already closed by Interrupt or failure (its trace is out, it stays out)."""
    turns = state["turns"]
    assert e.turn_id is not None
    if e.turn_id in turns:
        return turns[e.turn_id]
    closed = state["closed"].get(e.turn_id)
    if closed is not None and not closed.get("stop"):
        return None
    if e.agent_id:
        # a sub-agent event without its SubagentStart (hook not installed for it, or lost)
        return _open_subagent(state, e)
    # a new main turn: whatever main turn is still open did not end with Stop/Interrupt
    for key in _open_keys(state):
        other = turns[key]
        if other.get("agent") is None:
            _close(state, other, ctx, out, None, "next_turn", e.t, other["last"])
    if closed is not None:  # the same turn continues after a Stop hook blocked
        # it starts where the blocked Stop left off, so the two traces tile the turn
        start = min(closed.get("end") or e.t, e.t)
        turn = _new_turn(e.turn_id, start, seg=closed["seg"] + 1, num=closed["num"])
    else:
        state["n"] += 1
        turn = _new_turn(e.turn_id, e.t, num=state["n"])
    turns[e.turn_id] = turn
    _gc_facts(state, e.t)
    return turn


def _gc_facts(state: dict[str, Any], before: int) -> None:
    """Drop rollout facts no open turn will use: those left behind by closed turns, and
    those of turns that fired no hooks, once they are older than `before` (facts a lagging
    read took from turns still to come are newer, so they stay)."""
    for turn_id, facts in list(state["tx"].items()):
        if turn_id in state["turns"]:
            continue
        if turn_id in state["closed"] or max((f.get("ts", 0) for f in facts), default=0) < before:
            del state["tx"][turn_id]


def _open_subagent(state: dict[str, Any], e: Event) -> dict[str, Any]:
    if e.turn_id is None or e.agent_id is None:
        return {}
    turns = state["turns"]
    if e.turn_id in turns:
        return turns[e.turn_id]
    closed = state["closed"].get(e.turn_id)
    if closed is not None and not closed.get("stop"):
        return {}
    link = state["spawns"].get(e.agent_id) or state["agents"].get(e.agent_id)
    mains = [t for t in turns.values() if t.get("agent") is None]
    if mains and link and link["trace"] != _hex(assemble.trace_of(state, mains[-1])):
        link = None  # a later turn of a known sub-agent belongs to the turn driving it now
    if link is None:
        link = _spawned_by(state, e) or _fallback_parent(state, e)
    state["agents"][e.agent_id] = {k: link.get(k) for k in ("trace", "span", "task")}
    turn = _new_turn(
        e.turn_id,
        e.t,
        seg=closed["seg"] + 1 if closed else 0,  # continued after a blocked SubagentStop
        agent=e.agent_id,
        agent_type=e.agent_type or "subagent",
        trace=link["trace"],
        parent=link["span"],
        path=e.transcript_path,
        model=e.model,
        task=link.get("task"),
    )
    turns[e.turn_id] = turn
    return turn


def _spawned_by(state: dict[str, Any], e: Event) -> dict[str, Any] | None:
    """The open main turn's spawn call that started this agent, by the parent rollout's
    SubAgentActivity record (multi-agent v2: the spawn answer names no agent id), with the
    task it was given (the call's `message`)."""
    mains = [t for t in state["turns"].values() if t.get("agent") is None]
    if not mains:
        return None
    main = mains[-1]
    _sync_transcript(state, main, e.t)  # the record is written before SubagentStart fires
    for f in state["tx"].get(main["id"], []):
        item = f.get("item") if f["k"] == "item" else None
        if not item or item.get("agent_thread_id") != e.agent_id or f["id"] not in main["tools"]:
            continue
        trace = assemble.trace_of(state, main)
        args = tools.parse_json(main["tools"][f["id"]].get("in"))
        task = args.get("message") if isinstance(args, dict) else None
        return {
            "trace": _hex(trace),
            "span": _hex(assemble.tool_id(trace, main, f["id"])),
            "task": task if isinstance(task, str) else None,
        }
    return None


def _fallback_parent(state: dict[str, Any], e: Event) -> dict[str, str | None]:
    """No spawn result named this agent (multi-agent v2 answers with a task name) or it
    is a later turn of a known one: hang it under the open main turn's first spawn call
    not yet claimed by another sub-agent (they start in spawn order), else its latest
    multi-agent call, else that turn's root. With no open turn at all it becomes the root
    of a trace of its own, never an orphan."""
    mains = [t for t in state["turns"].values() if t.get("agent") is None]
    if not mains:
        trace = ids.trace_id(TARGET, state["sid"], "subagent", e.agent_id, e.turn_id)
        return {"trace": _hex(trace), "span": None}
    main = mains[-1]
    trace = assemble.trace_of(state, main)
    claimed = {link.get("span") for link in state["agents"].values()}
    candidates = [
        (tools.canonical_hook_name(tool["hook"]), _hex(assemble.tool_id(trace, main, use_id)))
        for use_id, tool in main["tools"].items()
        if tools.category(tools.canonical_hook_name(tool["hook"])) == sc.CATEGORY_MULTI_AGENT
    ]
    spawns = [span for name, span in candidates if name == "spawn_agent"]
    free = [span for span in spawns if span not in claimed]
    if free:
        span = free[0]
    elif candidates:  # e.g. send_input woke an existing sub-agent
        span = candidates[-1][1]
    else:
        span = _hex(assemble.root_id(trace, main))
    return {"trace": _hex(trace), "span": span}


def _request_keys(e: Event) -> list[Any]:
    """[kind, request id, attempt, response id]: Codex 0.171+ names each model request
    (`sampling`, `foreground_compaction` ...); older releases send none of these."""
    return [e.request_kind, e.request_id, e.attempt, e.response_id]


def _post_model(turn: dict[str, Any], e: Event) -> None:
    """Answer the request this PostModelRequest closes: the one with its request id and
    attempt when Codex sends them, else the latest still open."""
    usage = e.usage.to_dict() if e.usage else None
    keys = _request_keys(e)
    open_ = [c for c in turn["calls"] if c[1] is None]
    if e.request_id is not None:
        same = [c for c in open_ if len(c) > 6 and c[6] == e.request_id]
        exact = [c for c in same if c[7] == e.attempt]
        open_ = exact or same or [c for c in open_ if len(c) <= 6 or c[6] is None]
    if open_:
        call = open_[-1]
        call[1:5] = [e.t, e.status, e.error, usage]
        call[5:] = [a if a is not None else b for a, b in zip(keys, _pad(call)[5:], strict=True)]
        return
    turn["calls"].append([e.t, e.t, e.status, e.error, usage, *keys])


def _pad(call: list[Any]) -> list[Any]:
    """A model call row at full length (rows saved by older staso have 5 fields)."""
    return call + [None] * (9 - len(call))


def _pre_tool(turn: dict[str, Any], e: Event) -> None:
    use_id = e.tool_use_id or f"{e.tool_name}@{e.t}"
    tool = turn["tools"].setdefault(use_id, {"hook": e.tool_name or "", "t0": e.t, "t1": None})
    tool["in"] = _cap(e.tool_input)
    if e.tool_name in turn["perm_pending"]:
        turn["perm_pending"].remove(e.tool_name)
        tool["perm"] = True


def _permission(turn: dict[str, Any], e: Event) -> None:
    # PermissionRequest has no tool_use_id: it belongs to the open call of that tool
    for tool in reversed(list(turn["tools"].values())):
        if tool["hook"] == e.tool_name and tool["t1"] is None:
            tool["perm"] = True
            return
    turn["perm_pending"].append(e.tool_name)


def _post_tool(state: dict[str, Any], turn: dict[str, Any], e: Event) -> None:
    use_id = e.tool_use_id
    if use_id is None:  # no id to match on: the latest open call of that tool
        open_ = [k for k, t in turn["tools"].items() if t["hook"] == e.tool_name and not t["t1"]]
        use_id = open_[-1] if open_ else f"{e.tool_name}@{e.t}"
    tool = turn["tools"].setdefault(
        use_id, {"hook": e.tool_name or "", "t0": e.t, "t1": None, "in": _cap(e.tool_input)}
    )
    tool["t1"] = e.t
    tool["resp"] = _cap(e.tool_response)
    if tools.canonical_hook_name(tool["hook"]) == "spawn_agent":
        result = tools.parse_json(e.tool_response)
        agent_id = result.get("agent_id") if isinstance(result, dict) else None
        if isinstance(agent_id, str):
            trace = assemble.trace_of(state, turn)
            span = assemble.tool_id(trace, turn, use_id)
            state["spawns"][agent_id] = {"trace": _hex(trace), "span": _hex(span)}


def _settle(state: dict[str, Any], turn: dict[str, Any], ctx: Context, out: list) -> None:
    """Close a turn its last Stop left waiting once the rollout says it is over: the turn's
    task_complete / turn_aborted, and no Stop-hook prompt after that Stop (a blocked Stop
    writes one, then the turn goes on)."""
    # it looks when the journal has nothing more to say (after a batch, on a poll): read
    # what the rollout holds by now
    _sync_transcript(state, turn, max(ctx.now_ns, turn["stopped"]))
    stopped = turn["stopped"]
    facts = state["tx"].get(turn["id"], [])
    if any(f["k"] == "hookprompt" and f["ts"] > stopped for f in facts):
        return
    if any(f["k"] == "end" for f in facts):
        _close(state, turn, ctx, out, sc.TURN_COMPLETED, "stop", stopped, stopped)


def _close_all(
    state: dict[str, Any], ctx: Context, out: list[SpanData], reason: str, t: int, main_only: bool
) -> None:
    for key in _open_keys(state, subagents_first=True):
        turn = state["turns"][key]
        if main_only and turn.get("agent"):
            continue
        _close(state, turn, ctx, out, None, reason, t, turn["last"])


# --- closing: rollout facts + hook facts -> spans ------------------------------------------


def _sync_transcript(state: dict[str, Any], turn: dict[str, Any], cutoff: int) -> None:
    """Read the rollout up to a little past `cutoff`, one read at a time, dropping after
    each read the facts no open turn will use: a backlog of older turns never piles up."""
    path = turn.get("path")
    if not path:
        return
    files = state["files"]
    fstate = files.get(path)
    if fstate is None:
        offset = 0 if state.get("fresh") == path else transcript.start_offset(path, turn["id"])
        fstate = files[path] = {"off": offset}
    until = cutoff + transcript.READ_AHEAD_NS
    for lines, end in transcript.read_chunks(path, fstate["off"], until):
        transcript.ingest(fstate, lines, state["tx"])
        fstate["off"] = end
        _gc_facts(state, turn["t0"])


def _close(
    state: dict[str, Any],
    turn: dict[str, Any],
    ctx: Context,
    out: list[SpanData],
    outcome: str | None,
    reason: str,
    cutoff: int,
    end: int,
) -> None:
    """Emit the turn's spans. `outcome` None: decide from what happened (failed request,
    rollout task_complete/turn_aborted) or call it unfinished. A turn that ended at a Stop
    is that, whatever closes it later (the next turn, SessionEnd, expiry, the rollout)."""
    if turn.get("stopped") is not None:
        outcome, reason, cutoff = sc.TURN_COMPLETED, "stop", turn["stopped"]
        end = turn["stopped"]
    _sync_transcript(state, turn, cutoff)
    bucket = state["tx"].get(turn["id"], [])
    facts = [f for f in bucket if f.get("ts", 0) <= cutoff]
    rest = [f for f in bucket if f.get("ts", 0) > cutoff]
    if rest:
        state["tx"][turn["id"]] = rest
    else:
        state["tx"].pop(turn["id"], None)
    out.extend(assemble.build_spans(state, turn, facts, ctx, outcome, reason, end))
    _gc_facts(state, turn["t0"])  # while this turn is still open: its leftovers stay
    state["turns"].pop(turn["id"], None)
    closed = state["closed"]
    closed.pop(turn["id"], None)
    closed[turn["id"]] = {
        "seg": turn["seg"],
        "num": turn["num"],
        "end": end,
        # a Stop hook may continue the turn (sub-agents, and sessions without a rollout);
        # one the rollout has ended takes no more events
        "stop": reason in ("stop", "subagent_stop") and turn.get("stopped") is None,
    }
    while len(closed) > MAX_CLOSED:
        closed.pop(next(iter(closed)))
    _prune(state)


def _prune(state: dict[str, Any]) -> None:
    """Bound what a long session accumulates: rollout files of finished sub-agents and
    sub-agent links, oldest first (each is small, but a session can spawn many)."""
    open_paths = {t.get("path") for t in state["turns"].values()}
    files = state["files"]
    for path in list(files)[: max(0, len(files) - MAX_FILES)]:
        if path not in open_paths and path != state.get("fresh"):
            del files[path]
    for key in ("agents", "spawns"):
        links = state[key]
        for agent_id in list(links)[: max(0, len(links) - MAX_AGENTS)]:
            del links[agent_id]
