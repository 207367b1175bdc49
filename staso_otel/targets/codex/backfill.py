"""Codex rollouts alone -> the journal Records its hooks would have written. [targets/codex]

`staso import` rebuilds sessions that ran without staso's hooks. Rather than a second
reconstruction, it synthesises the hook events the turn kernel (`staso_otel/turns`) needs
and lets it read the rollout as it does live, so an imported turn gets the ids, names
and transcript facts of a live one:

- SessionStart (source "startup": read the rollout from byte 0) at `session_meta`;
- UserPromptSubmit per `task_started` (its `turn_id`: the trace id's key), the prompt
  itself left to the rollout's user message;
- Pre/PostToolUse for multi-agent calls only (spawn_agent ...: their answer links a
  sub-agent to the call that started it); every other call is a transcript-only call,
  as live for the tools that fire no hook;
- Stop at `task_complete`, Interrupt at `turn_aborted`;
- a sub-agent's rollout (its `session_meta` names the parent session) gives
  SubagentStart / SubagentStop with the sub-agent's thread id as `agent_id`.

Times are the rollout's own timestamps. The model hooks are not synthesised: without
them the reducer times model calls from the rollout, as for releases without them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from staso_otel import semconv as sc
from staso_otel.record.journal import Record
from staso_otel.targets import backfill_io, jsonl
from staso_otel.targets.codex import tools

TARGET = "codex"
# What the live hooks knew and a rollout does not: said on every imported span.
UNKNOWN = (
    "permission_mode",
    "tool_start_time",
    "tool_end_time",
    "model_call_start_time",
)
# Only lines holding one of these are decoded: the reducer reads the rest itself.
_WANTED = (
    b'"session_meta"',
    b'"task_started"',
    b'"task_complete"',
    b'"turn_aborted"',
    b'"function_call',
    b'"custom_tool_call',
    b'"exec-',  # code mode: a call an `exec` cell made (it fired hooks live)
)


# one pass over the line: seven `in` scans ran at 0.5 GB/s, this at 1.9
_WANTED_ANY = re.compile(b"|".join(re.escape(w) for w in _WANTED))


def _wanted(raw: bytes) -> bool:
    return _WANTED_ANY.search(raw) is not None


# Code mode items -> the hook name their calls had live (`Bash` is exec_command).
_CELL_TOOLS = {"CommandExecution": "exec_command", "FileChange": "apply_patch"}


@dataclass(frozen=True)
class Rollout:
    """What a rollout's first line says about it."""

    path: str
    session_id: str  # the session it belongs to (the parent's, for a sub-agent)
    thread_id: str  # its own thread: the session id, or the sub-agent's id
    start_ns: int
    agent_type: str | None = None  # set for a sub-agent's rollout


def head(path: str) -> Rollout | None:
    """The rollout's `session_meta`, or None if the file does not start with one."""
    try:
        line = next(jsonl.first_lines(path, 1), None)
    except OSError:
        return None
    p = line.get("payload") if isinstance(line, dict) else None
    if not isinstance(p, dict) or line.get("type") != "session_meta":
        return None
    thread = p.get("id")
    session = p.get("session_id") or thread
    if not isinstance(thread, str) or not isinstance(session, str):
        return None
    start = jsonl.parse_ts(line.get("timestamp")) or 0
    source = p.get("source")
    spawn = source.get("subagent", {}).get("thread_spawn") if isinstance(source, dict) else None
    parent = p.get("parent_thread_id") or (spawn or {}).get("parent_thread_id")
    if parent and thread != session:
        role = (spawn or {}).get("agent_role") if isinstance(spawn, dict) else None
        return Rollout(path, str(session), thread, start, role or "default")
    return Rollout(path, thread, thread, start)


def _events(roll: Rollout, stats: dict[str, int]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(time, payload) of the hook events this rollout stands for, in file order."""
    base = {"session_id": roll.session_id, "transcript_path": roll.path}
    sub = roll.agent_type is not None
    agent = {"agent_id": roll.thread_id, "agent_type": roll.agent_type} if sub else {}
    if not sub:
        yield roll.start_ns, {**base, "hook_event_name": "SessionStart", "source": "startup"}
    turn: str | None = None
    last = end = prev = roll.start_ns
    pending: dict[str, str] = {}  # multi-agent call id -> its name, until its output
    for line in backfill_io.scan(roll.path, _wanted, stats):
        t = jsonl.parse_ts(line.get("timestamp")) or last
        last, end = t, max(end, t)
        p = line["payload"]
        kind, ptype = line.get("type"), p.get("type")
        turn_id = p.get("turn_id") if isinstance(p.get("turn_id"), str) else turn
        if kind == "event_msg" and ptype == "task_started" and turn_id:
            turn = turn_id
            first = "SubagentStart" if sub else "UserPromptSubmit"
            yield t, {**base, **agent, "turn_id": turn, "hook_event_name": first}
        elif kind == "event_msg" and ptype == "task_complete" and turn_id:
            error = p.get("error") if isinstance(p.get("error"), dict) else None
            if error is not None:  # a failed request: the turn ends failed, with no Stop
                yield from _failed_request(prev, t, error, {**base, **agent, "turn_id": turn_id})
                continue
            name = "SubagentStop" if sub else "Stop"
            message = p.get("last_agent_message")
            yield (
                t,
                {
                    **base,
                    **agent,
                    "turn_id": turn_id,
                    "hook_event_name": name,
                    "last_assistant_message": message if isinstance(message, str) else None,
                },
            )
        elif kind == "event_msg" and ptype == "turn_aborted" and turn_id:
            yield t, {**base, **agent, "turn_id": turn_id, "hook_event_name": "Interrupt"}
        elif kind == "response_item" and turn:
            yield from _tool_events(t, p, ptype, {**base, **agent, "turn_id": turn}, pending)
        elif kind == "event_msg" and ptype == "item_completed" and turn:
            yield from _cell_call(t, p, {**base, **agent, "turn_id": turn})
        prev = t
    if not sub:  # a rollout says nothing of the session's end: it ends where it stops
        yield end, {**base, "hook_event_name": "SessionEnd", "reason": "import"}


def _failed_request(
    t0: int, t1: int, error: dict[str, Any], base: dict[str, Any]
) -> Iterator[tuple[int, dict[str, Any]]]:
    """The model request a failed turn ended on (no usage record): its hooks, timed from
    the rollout line before the failure (the start is not known more exactly)."""
    message = error.get("message") if isinstance(error.get("message"), str) else "failed"
    yield t0, {**base, "hook_event_name": "PreModelRequest"}
    yield t1, {**base, "hook_event_name": "PostModelRequest", "status": "failed", "error": message}


def _cell_call(
    t: int, p: dict[str, Any], base: dict[str, Any]
) -> Iterator[tuple[int, dict[str, Any]]]:
    """A code-mode `exec` cell's nested call (item id `exec-...`): live it fired tool hooks
    with that id, so it is synthesised as a hooked call. It ends at its item's line, and
    lasted what the item says (its own clock may differ from the lines')."""
    item = p.get("item")
    if not isinstance(item, dict) or not str(item.get("id") or "").startswith("exec-"):
        return
    name = _CELL_TOOLS.get(str(item.get("type")))
    if name is None:
        return
    t0, t1 = p.get("started_at_ms"), p.get("completed_at_ms")
    took = (t1 - t0) * 1_000_000 if isinstance(t0, int) and isinstance(t1, int) else 0
    command = item.get("command")
    if isinstance(command, list) and command:
        command = command[-1]  # ["/bin/bash", "-lc", "<the command>"]
    hook = {**base, "tool_name": name, "tool_use_id": item["id"]}
    args = {"command": command} if isinstance(command, str) else None
    yield t - max(took, 0), {**hook, "hook_event_name": "PreToolUse", "tool_input": args}
    output = item.get("aggregated_output")
    yield t, {**hook, "hook_event_name": "PostToolUse", "tool_response": output}


def _tool_events(
    t: int, p: dict[str, Any], ptype: Any, base: dict[str, Any], pending: dict[str, str]
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Multi-agent calls as Pre/PostToolUse: a spawn's answer names the sub-agent it
    started, which links the sub-agent to the call (every other call stays
    transcript-only, as live for the tools that fire no hook)."""
    call_id = p.get("call_id")
    if not isinstance(call_id, str):
        return
    if ptype in ("function_call", "custom_tool_call"):
        name = tools.canonical_transcript_name(str(p.get("name") or ""), p.get("namespace"))
        if tools.category(name) != sc.CATEGORY_MULTI_AGENT:
            return
        pending[call_id] = name
        args = p.get("arguments") if ptype == "function_call" else p.get("input")
        yield (
            t,
            {
                **base,
                "hook_event_name": "PreToolUse",
                "tool_name": name,
                "tool_use_id": call_id,
                "tool_input": tools.parse_json(args),
            },
        )
    elif ptype in ("function_call_output", "custom_tool_call_output") and call_id in pending:
        yield (
            t,
            {
                **base,
                "hook_event_name": "PostToolUse",
                "tool_name": pending.pop(call_id),
                "tool_use_id": call_id,
                "tool_response": p.get("output"),
            },
        )


def records(rollouts: Iterable[Rollout], stats: dict[str, int]) -> Iterator[Record]:
    """One session's Records (its own rollout and its sub-agents'), in time order: each
    rollout is read lazily and the streams merged, so memory does not grow with them."""
    ordered = sorted(rollouts, key=lambda r: (r.agent_type is not None, r.start_ns))
    return backfill_io.merge(TARGET, (_events(roll, stats) for roll in ordered))


def find(root: str) -> Iterator[str]:
    """Every `rollout-*.jsonl` under `root` (CODEX_HOME/sessions), sorted."""
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            if name.startswith("rollout-") and name.endswith(".jsonl"):
                yield os.path.join(folder, name)
