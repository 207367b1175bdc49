"""The per-session reducer: Claude Code events + transcript -> turn traces. [targets/claude_code]

`process(state, records, ctx)` folds journal records into the session state and returns
the spans of every turn that closed; `expire(state, ctx)` closes what is still open as
unfinished. A turn is one `prompt_id`: opened by UserPromptSubmit, closed by Stop (or
StopFailure, the next prompt, SessionEnd). Its spans are built once, when it closes,
because only then does the transcript hold its model calls and their token usage.

Sub-agents run in the background in Claude Code 2.1.330: the parent's Stop often comes
before the sub-agent's SubagentStop, and the result comes back as a synthetic
`<task-notification>` prompt (a turn of its own). So a sub-agent is its own unit, keyed by
`agent_id`, closed by SubagentStop, and linked at SubagentStart to the Agent call that
spawned it (trace and span id, both deterministic), so its spans land in the parent's
trace under that call whenever they are exported. Which call that is gets settled when
the sub-agent closes, from what Claude Code says: the sub-agent's meta.json `toolUseId`
(and `parentAgentId` at depth 2), else the Agent call whose PostToolUse named its
`agentId`; the guess from arrival order at SubagentStart is the last resort (parallel
sub-agents start in any order).

Timing: hook receipt times bound turns and tool calls; transcript timestamps time model
calls (api-request line = start, last line of the answer = end) and the calls that fired
no hook (blocked, denied, unknown tool, server-side tools).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from typing import Any

from staso_otel.record.journal import Record
from staso_otel.span.model import SpanData
from staso_otel.targets import jsonl
from staso_otel.targets.base import Context
from staso_otel.targets.claude_code import assemble, tools, transcript
from staso_otel.targets.claude_code import events as ev_
from staso_otel.targets.claude_code.events import Event

STATE_VERSION = 1
MAX_CLOSED = 64  # turn keys remembered after closing (late events, Stop continuations)
MAX_HOOK_TEXT = 32 * 1024  # hook content kept in state until its turn closes
MAX_FILES = 64
MAX_LINKS = 256
MAX_TX = 32  # turns' transcript facts read ahead of their hooks (a lagging worker)
# Stop and SubagentStop can fire before the answer they quote is in the transcript (seen
# with background sub-agents on a loaded machine): the worker, never the agent, waits
# this long for it, polling, then builds the spans with what is there.
SETTLE_S = 3.0
SETTLE_POLL_S = 0.05
TASK_NOTIFICATION = "<task-notification>"


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
                "links": {},
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
    return out


def expire(state: dict[str, Any], ctx: Context) -> list[SpanData]:
    """Close every open turn as unfinished (sub-agents first, then their parents)."""
    _init(state)
    out: list[SpanData] = []
    _close_all(state, ctx, out, "expired", ctx.now_ns, main_only=False)
    return out


# --- event handling ------------------------------------------------------------------------


def agent_key(agent_id: str) -> str:
    return f"agent:{agent_id}"


def _apply(state: dict[str, Any], e: Event, ctx: Context, out: list[SpanData]) -> None:
    meta = state["meta"]
    if e.cwd:
        meta.setdefault("cwd", e.cwd)
    if e.transcript_path:
        meta["path"] = e.transcript_path
    kind = e.kind
    if kind == ev_.SESSION_START:
        meta["source"] = e.source
        if e.source in ("startup", "fork") and e.transcript_path:
            state["fresh"] = e.transcript_path  # a new transcript: read it from byte 0
        if e.source == "fork" and e.transcript_path:
            # the history copied from the parent session is older than this: not ours
            state["fork"] = {"path": e.transcript_path, "t": e.t}
        if e.source != "compact":
            _close_all(state, ctx, out, "session_restart", e.t, main_only=True)
        return
    if kind == ev_.SESSION_END:
        _close_all(state, ctx, out, "session_end", e.t, main_only=False)
        return
    if kind == "other":
        return  # MessageDisplay and events of a newer release must not open turns
    if kind == ev_.SUBAGENT_START:
        _open_agent(state, e)
        return
    if kind == ev_.SUBAGENT_STOP:
        turn = _turn_for(state, e, ctx, out)
        if turn:
            turn["response"] = e.last_message or turn.get("response")
            turn["agent_path"] = e.agent_transcript_path or turn.get("agent_path")
            turn["last"] = e.t
            _close(state, turn, ctx, out, "completed", "subagent_stop", e.t, e.t)
        return
    turn = _turn_for(state, e, ctx, out)
    if not turn:
        return
    turn["last"] = max(turn["last"], e.t)
    turn["perm"] = e.permission_mode or turn.get("perm")
    turn["cwd"] = turn.get("cwd") or e.cwd
    turn["path"] = turn.get("path") or e.transcript_path
    if kind == ev_.USER_PROMPT_SUBMIT:
        note = tools.background_note(e.prompt)
        if note is not None:
            _background_done(state, turn, note)
        if note is None or turn.get("prompt") is None:
            turn["prompt"] = e.prompt[: transcript.MAX_TEXT] if e.prompt else None
            turn["note"] = note
    elif kind == ev_.PRE_SKILL_SHELL_COMMAND:
        _skill_command(turn, e)
    elif kind in ev_.TOOL_EVENTS:
        _tool_event(state, turn, e)
    elif kind == ev_.POST_TOOL_BATCH:
        _batch(state, turn, e)
    elif kind in (ev_.PRE_COMPACT, ev_.POST_COMPACT):
        turn["compactions"] += kind == ev_.PRE_COMPACT
    elif kind == ev_.STOP:
        turn["response"] = e.last_message or turn.get("response")
        turn["stop_active"] = e.stop_hook_active
        _close(state, turn, ctx, out, "completed", "stop", e.t, e.t)
    elif kind == ev_.STOP_FAILURE:
        turn["failure"] = e.error or e.last_message or "the model request failed"
        _close(state, turn, ctx, out, "failed", "stop_failure", e.t, e.t)


def _cap(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_HOOK_TEXT:
        return value[:MAX_HOOK_TEXT]
    if isinstance(value, (dict, list)):
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        return text[:MAX_HOOK_TEXT] if len(text) > MAX_HOOK_TEXT else value
    return value


def _new_turn(key: str, t: int, **extra: Any) -> dict[str, Any]:
    turn = {
        "id": key,
        "pid": None,
        "seg": 0,
        "num": None,
        "t0": t,
        "last": t,
        "prompt": None,
        "path": None,
        "agent": None,
        "tools": {},
        "compactions": 0,
        "response": None,
    }
    turn.update(extra)
    return turn


def _turn_for(
    state: dict[str, Any], e: Event, ctx: Context, out: list[SpanData]
) -> dict[str, Any] | None:
    """The open unit this event belongs to (a main turn by prompt_id, or a sub-agent by
    agent_id), opening one if needed; None for an event that cannot be placed."""
    if e.agent_id:
        return _open_agent(state, e)
    if e.prompt_id is None:
        return None
    turns = state["turns"]
    if e.prompt_id in turns:
        return turns[e.prompt_id]
    closed = state["closed"].get(e.prompt_id)
    if closed is not None and not closed.get("stop"):
        return None  # a late event of a turn closed by failure or expiry: it stays out
    for other in list(turns.values()):  # a new prompt: the previous one did not Stop
        if other.get("agent") is None:
            _close(state, other, ctx, out, None, "next_turn", other["last"], e.t)
    if closed is not None:  # the same prompt continues after a Stop hook blocked
        start = min(closed.get("end") or e.t, e.t)
        turn = _new_turn(e.prompt_id, start, pid=e.prompt_id, seg=closed["seg"] + 1)
        turn["num"] = closed["num"]
    else:
        state["n"] += 1
        turn = _new_turn(e.prompt_id, e.t, pid=e.prompt_id, num=state["n"])
    turns[e.prompt_id] = turn
    return turn


def _open_agent(state: dict[str, Any], e: Event) -> dict[str, Any] | None:
    if e.agent_id is None:
        return None
    key = agent_key(e.agent_id)
    turns = state["turns"]
    if key in turns:
        return turns[key]
    closed = state["closed"].get(key)
    if closed is not None and not closed.get("stop"):
        return None
    link = state["links"].get(e.agent_id) or _named_call(state, e.agent_id)
    link = link or _spawning_call(state, e)
    state["links"][e.agent_id] = link
    while len(state["links"]) > MAX_LINKS:
        state["links"].pop(next(iter(state["links"])))
    turn = _new_turn(
        key,
        e.t,
        pid=e.prompt_id,
        seg=closed["seg"] + 1 if closed else 0,
        agent=e.agent_id,
        agent_type=e.agent_type or "subagent",
        trace=link["trace"],
        parent=link["span"],
        path=e.transcript_path,
    )
    turns[key] = turn
    return turn


def _background_done(state: dict[str, Any], turn: dict[str, Any], note: dict[str, Any]) -> None:
    """A background task finished: the call that launched it, if its turn is still open,
    learns how (a shell's exit code). A closed call's span is out already; the notification
    turn carries the facts then (see assemble)."""
    for unit in [turn, *state["turns"].values()]:
        tool = unit["tools"].get(note.get("call") or "")
        if tool is not None:
            tool["bg"] = {"status": note.get("status"), "exit": note.get("exit")}
            return


def _skill_command(turn: dict[str, Any], e: Event) -> None:
    """A skill's `!cmd` preamble (2.1.332+): Claude Code runs it itself, before the model
    sees the skill; no hook reports its end or output, so it is a shell call that ran,
    ending when the skill's text (holding the output) reaches the transcript."""
    use_id = e.tool_use_id or f"skill@{e.t}"
    turn["tools"][use_id] = {
        "name": e.tool_name or "Bash",
        "t0": e.t,
        "t1": None,
        "in": _cap(e.tool_input),
        "skill": e.command_name or "",
        "skill_src": e.command_source,
    }


def _register_call(state: dict[str, Any], turn: dict[str, Any], use_id: str) -> None:
    """Remember where an Agent call's span is (trace, span id), in whatever unit it ran,
    so the sub-agent it spawns finds it, at any depth."""
    calls = state.setdefault("calls", {})
    if use_id in calls:
        return
    trace = assemble.trace_of(state, turn)
    calls[use_id] = {"trace": f"{trace:x}", "span": f"{assemble.tool_id(trace, turn, use_id):x}"}
    while len(calls) > MAX_LINKS:
        calls.pop(next(iter(calls)))


def _resolve_parent(state: dict[str, Any], turn: dict[str, Any], meta: dict[str, Any]) -> None:
    """Settle a closing sub-agent's parent: the Agent call Claude Code names (meta.json
    `toolUseId`, else the call whose PostToolUse returned this `agentId`), in the unit
    that made it (`parentAgentId`: a sub-agent at depth 2). Arrival order is not used
    when either is known: parallel sub-agents start in any order."""
    agent = turn["agent"]
    use_id = meta.get("toolUseId")
    if not isinstance(use_id, str):
        use_id = state.setdefault("spawned", {}).get(agent)
    if not isinstance(use_id, str):
        return
    call = state.setdefault("calls", {}).get(use_id)
    if call is None:  # the call's unit was never seen (hooks installed mid-session)
        owner = meta.get("parentAgentId")
        link = state["links"].get(owner) if isinstance(owner, str) else None
        trace = int((link or turn)["trace"], 16)
        span = (
            assemble.tool_id(trace, {"agent": owner, "seg": 0}, use_id)
            if isinstance(owner, str)
            else assemble.main_tool_id(trace, use_id)
        )
        call = {"trace": f"{trace:x}", "span": f"{span:x}"}
    turn["trace"], turn["parent"] = call["trace"], call["span"]
    turn.setdefault("agent_meta", {})["toolUseId"] = use_id  # also when meta.json is gone
    state["links"][agent] = {"trace": call["trace"], "span": call["span"]}


def _named_call(state: dict[str, Any], agent_id: str) -> dict[str, Any] | None:
    """The Agent call whose PostToolUse already returned this agentId, if any."""
    use_id = state.setdefault("spawned", {}).get(agent_id)
    call = state.setdefault("calls", {}).get(use_id or "")
    return {"trace": call["trace"], "span": call["span"]} if call else None


def _spawning_call(state: dict[str, Any], e: Event) -> dict[str, Any]:
    """The Agent call this sub-agent runs for: in the turn of its prompt_id, the open
    Agent/Task call not yet claimed by another sub-agent (they start in call order), else
    that turn's latest Agent call, else its root. With no such turn (hooks installed
    mid-session, state lost) the trace id still follows from the prompt_id."""
    parent = state["turns"].get(e.prompt_id or "")
    if parent is None or parent.get("agent"):
        trace = assemble.trace_for(state["sid"], e.prompt_id or f"agent:{e.agent_id}", 0)
        return {"trace": f"{trace:x}", "span": None}
    trace = assemble.trace_of(state, parent)
    calls = [
        use_id
        for use_id, tool in parent["tools"].items()
        if tool["name"] in tools.AGENT_TOOLS and not tool.get("agent")
    ]
    free = [c for c in calls if parent["tools"][c]["t1"] is None]
    use_id = free[0] if free else (calls[-1] if calls else None)
    if use_id is None:
        return {"trace": f"{trace:x}", "span": f"{assemble.root_id(trace, parent):x}"}
    parent["tools"][use_id]["agent"] = e.agent_id
    span = assemble.tool_id(trace, parent, use_id)
    return {"trace": f"{trace:x}", "span": f"{span:x}"}


def _tool_event(state: dict[str, Any], turn: dict[str, Any], e: Event) -> None:
    kind = e.kind
    if kind == ev_.PERMISSION_REQUEST and e.tool_use_id is None:
        # no tool_use_id: it belongs to the open call of that tool with that input
        for tool in reversed(list(turn["tools"].values())):
            if tool["name"] == e.tool_name and tool["t1"] is None and "skill" not in tool:
                tool["perm"] = True
                return
        return
    use_id = e.tool_use_id or f"{e.tool_name}@{e.t}"
    tool = turn["tools"].setdefault(
        use_id, {"name": e.tool_name or "", "t0": e.t, "t1": None, "in": _cap(e.tool_input)}
    )
    if tool["name"] in tools.AGENT_TOOLS:
        _register_call(state, turn, use_id)
    if kind == ev_.PRE_TOOL_USE:
        tool["t0"] = e.t
        tool["in"] = _cap(e.tool_input)
    elif kind in (ev_.PERMISSION_REQUEST, ev_.PERMISSION_DENIED):
        tool["perm"] = True
        if kind == ev_.PERMISSION_DENIED:
            tool["denied"] = True
    elif kind == ev_.POST_TOOL_USE:
        tool["t1"] = e.t
        tool["resp"] = _cap(e.tool_response)
        tool["dur"] = e.duration_ms
        agent_id = e.tool_response.get("agentId") if isinstance(e.tool_response, dict) else None
        if tool["name"] in tools.AGENT_TOOLS and isinstance(agent_id, str):
            tool["agent"] = agent_id  # Claude Code's own word: it overrules a guess
            spawned = state.setdefault("spawned", {})
            spawned[agent_id] = use_id
            while len(spawned) > MAX_LINKS:
                spawned.pop(next(iter(spawned)))
    elif kind == ev_.POST_TOOL_USE_FAILURE:
        tool["t1"] = e.t
        tool["fail"] = _cap(e.error) or "failed"
        tool["intr"] = e.is_interrupt
        tool["dur"] = e.duration_ms


def _batch(state: dict[str, Any], turn: dict[str, Any], e: Event) -> None:
    """PostToolBatch lists every call of one model message, including those that never
    ran (no Post* hook): they end here, with what the model was told."""
    for call in e.batch:
        use_id = call.tool_use_id or f"{call.tool_name}@{e.t}"
        tool = turn["tools"].setdefault(
            use_id, {"name": call.tool_name or "", "t0": None, "t1": None, "in": None}
        )
        tool["in"] = tool.get("in") or _cap(call.tool_input)
        tool["vis"] = _cap(call.response)
        if tool["name"] in tools.AGENT_TOOLS:
            _register_call(state, turn, use_id)
        if tool["t1"] is None:
            tool["t1"] = e.t
            tool["ran"] = False


def _close_all(
    state: dict[str, Any], ctx: Context, out: list[SpanData], reason: str, t: int, main_only: bool
) -> None:
    keys = sorted(state["turns"], key=lambda k: state["turns"][k].get("agent") is None)
    for key in keys:  # sub-agents first: their parents' spans may wait on nothing
        turn = state["turns"][key]
        if main_only and turn.get("agent"):
            continue
        end = t if reason == "session_end" else turn["last"]
        _close(state, turn, ctx, out, None, reason, end, t)


# --- closing: transcript facts + hook facts -> spans ---------------------------------------


def _agent_path(state: dict[str, Any], turn: dict[str, Any]) -> str | None:
    if turn.get("agent_path"):
        return turn["agent_path"]
    main = turn.get("path") or state["meta"].get("path")
    if not main or not state["sid"]:
        return None
    folder = os.path.join(os.path.dirname(main), state["sid"], "subagents")
    return os.path.join(folder, f"agent-{turn['agent']}.jsonl")


def _sync(
    state: dict[str, Any], path: str | None, key: str | None, turn: dict, horizon: int
) -> None:
    """Read the transcript up to a little past `horizon` (when the event closing `turn`
    came), one read at a time, dropping after each read the facts of prompts older than
    the turn that no hook opened: a backlog never piles up in memory."""
    if not path:
        return
    files = state["files"]
    fstate = files.get(path)
    if fstate is None:
        fresh = key is not None or state.get("fresh") == path
        offset = 0 if fresh else transcript.start_offset(path, turn.get("pid"))
        fstate = files[path] = {"off": offset}
    fork = state.get("fork") or {}
    since = fork.get("t", 0) if fork.get("path") == path else 0
    until = horizon + transcript.READ_AHEAD_NS
    for lines, end in transcript.read_chunks(path, fstate["off"], until):
        transcript.ingest(fstate, lines, state["tx"], key, since)
        fstate["off"] = end
        if key is None:
            _drop_stale(state, turn["t0"])


def _drop_stale(state: dict[str, Any], before: int) -> None:
    tx = state["tx"]
    for key in list(tx):
        if key in state["turns"]:
            continue
        newest = transcript.newest(tx[key])
        if key in state["closed"] or 0 < newest < before:
            del tx[key]


def _answered(facts: dict[str, Any] | None, text: str) -> bool:
    want = text.strip()
    for msg in (facts or {}).get("msgs", {}).values():
        for block in msg.get("blocks") or []:
            if block.get("type") == "text" and want in (block.get("text") or "").strip():
                return True
    return False


def _settle(
    state: dict[str, Any], turn: dict[str, Any], path: str | None, key: str | None, horizon: int
) -> None:
    """Wait (bounded) until the transcript holds the answer the Stop hook quoted."""
    expected = turn.get("response")
    if not expected or not path or not os.path.isfile(path):
        return
    deadline = time.monotonic() + SETTLE_S
    while not _answered(state["tx"].get(turn["id"]), expected):
        if time.monotonic() >= deadline:
            return
        time.sleep(SETTLE_POLL_S)
        _sync(state, path, key, turn, horizon)


def _agent_meta(path: str | None) -> dict[str, Any]:
    if not path:
        return {}
    try:
        with jsonl.open_regular(path.removesuffix(".jsonl") + ".meta.json") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _close(
    state: dict[str, Any],
    turn: dict[str, Any],
    ctx: Context,
    out: list[SpanData],
    outcome: str | None,
    reason: str,
    end: int,
    horizon: int,
) -> None:
    """Emit the turn's spans; `horizon` is when the event closing it came (the transcript
    is read up to a little past it)."""
    key = turn["id"]
    if turn.get("agent"):
        path = _agent_path(state, turn)
        turn["agent_path"] = path
        _sync(state, path, key, turn, horizon)
        if reason == "subagent_stop":
            _settle(state, turn, path, key, horizon)
        meta = _agent_meta(path)
        turn["agent_meta"] = {k: meta.get(k) for k in ("toolUseId", "spawnDepth", "model")}
        _resolve_parent(state, turn, meta)
    else:
        path = turn.get("path") or state["meta"].get("path")
        _sync(state, path, None, turn, horizon)
        if reason == "stop":
            _settle(state, turn, path, None, horizon)
    facts = state["tx"].pop(key, None) or transcript.empty()
    out.extend(assemble.build_spans(state, turn, facts, ctx, outcome, reason, end))
    state["turns"].pop(key, None)
    closed = state["closed"]
    closed.pop(key, None)
    closed[key] = {
        "seg": turn["seg"],
        "num": turn["num"],
        "end": end,
        "stop": reason in ("stop", "subagent_stop"),  # a Stop hook may continue the turn
    }
    while len(closed) > MAX_CLOSED:
        closed.pop(next(iter(closed)))
    _prune(state)


def _prune(state: dict[str, Any]) -> None:
    """Bound what a long session accumulates: facts of turns already closed or never
    hooked, transcript offsets of finished sub-agents, oldest first."""
    tx = state["tx"]
    for key in list(tx):
        if key in state["closed"] and key not in state["turns"]:
            del tx[key]
    for key in list(tx)[: max(0, len(tx) - MAX_TX)]:
        if key not in state["turns"]:
            del tx[key]
    open_paths = {t.get("agent_path") for t in state["turns"].values()}
    open_paths |= {state["meta"].get("path")}
    files = state["files"]
    for path in list(files)[: max(0, len(files) - MAX_FILES)]:
        if path not in open_paths:
            del files[path]
