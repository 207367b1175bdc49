"""A session's reduction state as typed data, persisted as versioned JSON. [turns]

The worker keeps one JSON object per session (record/state.py, under "target"); the
kernel reads it into a `Session` at the start of a batch and writes it back at the end, so
the state file stays the one durable copy. It holds only what is still open (turns, their
tool and model calls), bounded memory of what closed (late events, Stop continuations,
sub-agent links), and the agent's transcript reader state (`files`, per-file offsets) and
facts (`facts`, per open turn), which are the agent's own JSON.

Version 1 (staso before the kernel) had one dict layout per agent with short keys; it is
converted on load (`_from_v1`), so an upgrade mid-session loses no open turn and does not
re-emit a closed one. Anything else unreadable starts the session's state over (the
"state lost" path: later events open fresh turns; span ids are deterministic).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

VERSION = 2
# Characters kept of one value in state, at least; redaction caps again before export.
MAX_TEXT = 128 * 1024  # of transcript content
# Hook content (tool input/response) waits in the state, rewritten after every batch,
# until its unit closes; the transcript has the same content, so keep a smaller copy.
MAX_HOOK_TEXT = 32 * 1024


def bound(floor: int, max_attribute_bytes: int) -> int:
    """Characters the state keeps of one value: `floor`, or twice the export's cap of
    one attribute if more. A character is at least one byte, so all the cap can show
    arrives whole, and what is longer reaches the cap still longer and is cut there
    with its mark and `staso.truncated`, even after a secret's marker shortened it
    (the redactor itself first cuts at twice the cap, so it sees what it would have)."""
    return max(floor, 2 * max_attribute_bytes)


def cap(value: Any, most: int) -> Any:
    """`value` as the state keeps it: whole up to `most` characters (a dict or a list as
    JSON); a longer string cut there; longer JSON (a dict, a list, or a string holding
    one: Codex's call arguments) shortened inside, so it still parses and the export's
    cap of it stays JSON-safe."""
    if isinstance(value, str):
        if len(value) <= most:
            return value
        if value[:1] in ("{", "["):
            try:
                parsed = json.loads(value)
            except (ValueError, RecursionError):
                return value[:most]
            return _dumps(_shrunk(parsed, most))
        return value[:most]
    if isinstance(value, (dict, list)):
        return _shrunk(value, most) if len(_dumps(value)) > most else value
    return value


def _shrunk(value: Any, most: int) -> Any:
    """JSON longer than `most` characters shortened inside to a little more than that:
    the export's cap (at most half of `most`) then still finds it longer than twice
    itself, so it cuts and marks it as it would the whole. `shrink` shares its budget
    out evenly between keys, so one long value among short ones comes out well under
    the budget: the budget grows by what was missing until the result is over `most`."""
    from staso_otel.span.redact import shrink  # rarely needed: not loaded with the state

    budget = most
    for _ in range(4):  # bounded: a shape that needs more keeps what the last round gave
        small = shrink(value, budget)
        size = len(_dumps(small))
        if size > most:
            break
        budget = min(budget * most // max(size, 1) + most // 16, 16 * most)
    return small


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# read and written at every batch, defined at every worker start: no generated __eq__
_record = dataclass(eq=False)


@_record
class ToolCall:
    name: str
    start: int | None  # None: no hook saw it start (it may never have run)
    end: int | None = None
    input: Any = None
    response: Any = None
    error: str | None = None
    interrupted: bool = False
    duration_ms: int | None = None
    permission: bool = False  # the user was asked
    denied: bool = False
    ran: bool = True
    visible: Any = None  # what the model was told of it
    background: dict[str, Any] | None = None  # how the background task it launched ended
    agent: str | None = None  # the sub-agent it spawned
    extra: dict[str, Any] = field(default_factory=dict)  # the agent's own facts of it


@_record
class ModelCall:
    start: int
    end: int | None = None
    status: str | None = None
    error: str | None = None
    usage: dict[str, Any] | None = None
    kind: str | None = None
    request_id: str | None = None
    attempt: int | None = None
    response_id: str | None = None


@_record
class Window:
    """A context compaction: from its start to its end (None: still running)."""

    start: int
    end: int | None = None
    trigger: str | None = None


@_record
class Link:
    """Where a sub-agent's spans hang: a trace and the span (a spawn call or a root)."""

    trace: str | None = None  # hex
    span: str | None = None  # hex; None: the sub-agent is a trace root of its own
    task: str | None = None  # what it was asked, when only the spawn call says


@_record
class Turn:
    """An open unit: a main turn, or a sub-agent's turn (`agent` set)."""

    key: str
    start: int
    last: int
    seg: int = 0  # > 0: the same turn continued after a Stop hook blocked
    num: int | None = None
    prompt: str | None = None
    response: str | None = None
    model: str | None = None
    path: str | None = None  # the transcript its events named
    cwd: str | None = None
    permission_mode: str | None = None
    agent: str | None = None
    agent_type: str | None = None
    agent_path: str | None = None  # a sub-agent's own transcript
    parent_turn: str | None = None
    trace: str | None = None  # a sub-agent's: its parent's trace (hex)
    parent: str | None = None  # a sub-agent's parent span (hex)
    task: str | None = None
    stopped: int | None = None  # Stop seen, waiting on the transcript to say it is over
    blocks: int = 0  # Stop hooks that blocked and continued it
    stop_active: bool = False
    failure: str | None = None
    background: dict[str, Any] | None = None  # it is a background task's notification
    tools: dict[str, ToolCall] = field(default_factory=dict)
    calls: list[ModelCall] = field(default_factory=list)
    compactions: list[Window] = field(default_factory=list)
    perm_pending: list[str | None] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  # the agent's own facts of it


@_record
class Closed:
    seg: int
    num: int | None
    end: int
    stop: bool  # closed by a Stop a Stop hook may still continue


@_record
class Meta:
    cwd: str | None = None
    model: str | None = None
    path: str | None = None  # the session's transcript
    source: str | None = None


@_record
class Fork:
    path: str
    t: int


@_record
class Session:
    session_id: str | None = None
    turn_count: int = 0
    meta: Meta = field(default_factory=Meta)
    turns: dict[str, Turn] = field(default_factory=dict)
    closed: dict[str, Closed] = field(default_factory=dict)
    links: dict[str, Link] = field(default_factory=dict)  # agent id -> where it hangs
    calls: dict[str, Link] = field(default_factory=dict)  # spawning call id -> its span
    spawned: dict[str, str] = field(default_factory=dict)  # agent id -> the call that did
    fresh: str | None = None  # a transcript new in this session: read from byte 0
    fork: Fork | None = None
    poll: bool = False  # a turn waits on its transcript: the worker asks again
    files: dict[str, dict[str, Any]] = field(default_factory=dict)  # transcript reader's
    facts: dict[str, Any] = field(default_factory=dict)  # transcript facts by turn key

    def to_json(self) -> dict[str, Any]:
        """Plain JSON data (sharing leaf values with this Session, which is done with)."""
        data = {"v": VERSION, **vars(self)}
        data["meta"] = vars(self.meta).copy()
        data["turns"] = {k: _turn_json(t) for k, t in self.turns.items()}
        for name in ("closed", "links", "calls"):
            data[name] = {k: vars(x).copy() for k, x in data[name].items()}
        data["fork"] = vars(self.fork).copy() if self.fork else None
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Session:
        """The session a state dict holds: this version, converted from 1, or a new one."""
        if data.get("v") == VERSION:
            return _load(data)
        if data.get("v") == 1:
            return _from_v1(data)
        return cls()


def _turn_json(turn: Turn) -> dict[str, Any]:
    data = vars(turn).copy()
    data["tools"] = {k: vars(t).copy() for k, t in turn.tools.items()}
    data["calls"] = [vars(c).copy() for c in turn.calls]
    data["compactions"] = [vars(w).copy() for w in turn.compactions]
    return data


_FIELDS: dict[type, frozenset[str]] = {}


def _build(cls: type, data: dict[str, Any], **nested: Any) -> Any:
    """cls from its JSON fields (ones it does not know are left out: a hand-edited or
    partly written state must not stop the session)."""
    try:
        return cls(**data, **nested) if not nested else cls(**{**data, **nested})
    except TypeError:
        names = _FIELDS.get(cls)
        if names is None:
            names = _FIELDS[cls] = frozenset(f.name for f in dataclasses.fields(cls))
        return cls(**{k: v for k, v in {**data, **nested}.items() if k in names})


def _turn(data: dict[str, Any]) -> Turn:
    rest = {k: v for k, v in data.items() if k not in ("tools", "calls", "compactions")}
    return _build(
        Turn,
        rest,
        tools={k: _build(ToolCall, v) for k, v in data.get("tools", {}).items()},
        calls=[_build(ModelCall, c) for c in data.get("calls", [])],
        compactions=[_build(Window, w) for w in data.get("compactions", [])],
    )


def _load(data: dict[str, Any]) -> Session:
    fork = data.get("fork")
    return Session(
        session_id=data.get("session_id"),
        turn_count=data.get("turn_count", 0),
        meta=_build(Meta, data.get("meta") or {}),
        turns={k: _turn(v) for k, v in data.get("turns", {}).items()},
        closed={k: _build(Closed, v) for k, v in data.get("closed", {}).items()},
        links={k: _build(Link, v) for k, v in data.get("links", {}).items()},
        calls={k: _build(Link, v) for k, v in data.get("calls", {}).items()},
        spawned=dict(data.get("spawned", {})),
        fresh=data.get("fresh"),
        fork=_build(Fork, fork) if fork else None,
        poll=bool(data.get("poll")),
        files=data.get("files", {}),
        facts=data.get("facts", {}),
    )


# --- version 1: the per-agent layouts of staso before the kernel --------------------------

_V1_TOOL = {
    "hook": "name", "name": "name", "t0": "start", "t1": "end", "in": "input",
    "resp": "response", "fail": "error", "intr": "interrupted", "dur": "duration_ms",
    "perm": "permission", "denied": "denied", "ran": "ran", "vis": "visible",
    "bg": "background", "agent": "agent",
}  # fmt: skip
_V1_TURN = {
    "id": "key", "t0": "start", "last": "last", "seg": "seg", "num": "num",
    "prompt": "prompt", "response": "response", "model": "model", "path": "path",
    "cwd": "cwd", "perm": "permission_mode", "agent": "agent", "agent_type": "agent_type",
    "agent_path": "agent_path", "pid": "parent_turn", "trace": "trace", "parent": "parent",
    "task": "task", "stopped": "stopped", "blocks": "blocks", "stop_active": "stop_active",
    "failure": "failure", "note": "background", "perm_pending": "perm_pending",
}  # fmt: skip
_V1_CALL = ("start", "end", "status", "error", "usage", "kind", "request_id", "attempt")


def _v1_tool(old: dict[str, Any]) -> ToolCall:
    tool = ToolCall(name=old.get("hook") or old.get("name") or "", start=old.get("t0"))
    for k, v in old.items():
        if k in _V1_TOOL and k not in ("hook", "name"):
            setattr(tool, _V1_TOOL[k], v)
        elif k in ("skill", "skill_src"):
            tool.extra[k] = v
    tool.interrupted, tool.permission = bool(tool.interrupted), bool(tool.permission)
    return tool


def _v1_turn(old: dict[str, Any]) -> Turn:
    turn = Turn(key=old["id"], start=old["t0"], last=old.get("last", old["t0"]))
    for k, v in old.items():
        if k in _V1_TURN:
            setattr(turn, _V1_TURN[k], v)
    turn.stop_active = bool(turn.stop_active)
    turn.blocks = turn.blocks or 0
    turn.perm_pending = list(turn.perm_pending or [])
    turn.tools = {k: _v1_tool(v) for k, v in old.get("tools", {}).items()}
    turn.calls = [
        ModelCall(**dict(zip(_V1_CALL, row, strict=False)), response_id=_at(row, 8))
        for row in old.get("calls", [])
    ]
    windows = old.get("compactions")
    if isinstance(windows, int):  # Claude Code counted them
        turn.compactions = [Window(turn.start, turn.start) for _ in range(windows)]
    else:
        turn.compactions = [Window(*w) for w in windows or []]
    if "agent_meta" in old:
        turn.extra["agent_meta"] = old["agent_meta"]
    return turn


def _at(row: list[Any], i: int) -> Any:
    return row[i] if len(row) > i else None


def _from_v1(old: dict[str, Any]) -> Session:
    meta = old.get("meta") or {}
    links = {**old.get("links", {}), **old.get("agents", {})}
    calls = dict(old.get("calls", {}))
    spawned = dict(old.get("spawned", {}))
    for agent_id, link in old.get("spawns", {}).items():  # Codex: agent -> spawn call link
        calls[f"spawn:{agent_id}"] = _build(Link, link)
        spawned.setdefault(agent_id, f"spawn:{agent_id}")
    fork = old.get("fork")
    return Session(
        session_id=old.get("sid"),
        turn_count=old.get("n", 0),
        meta=_build(Meta, meta),
        turns={k: _v1_turn(v) for k, v in old.get("turns", {}).items()},
        closed={
            k: Closed(v.get("seg", 0), v.get("num"), v.get("end") or 0, bool(v.get("stop")))
            for k, v in old.get("closed", {}).items()
        },
        links={k: _build(Link, v) for k, v in links.items()},
        calls={k: v if isinstance(v, Link) else _build(Link, v) for k, v in calls.items()},
        spawned=spawned,
        fresh=old.get("fresh"),
        fork=_build(Fork, fork) if fork else None,
        poll=bool(old.get("poll")),
        files=old.get("files", {}),
        facts=old.get("tx", {}),
    )
