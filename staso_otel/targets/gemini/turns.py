"""The per-session reducer: Gemini CLI events + transcript -> turn traces. [targets/gemini]

`process(state, records, ctx)` folds journal records into the session state and returns
the spans of every turn that closed; `expire(state, ctx)` closes what is still open as
unfinished. A turn is opened by BeforeAgent and closed by AfterAgent (or the next
BeforeAgent, a SessionStart of a new process, SessionEnd). Gemini CLI names no turn,
request or call in its payloads, so a turn is keyed by its BeforeAgent's own `timestamp`
(stable when a journal is replayed) and every other event belongs to the session's one
open turn; tool calls pair BeforeTool with the oldest open AfterTool of the same name.

Its spans are built once, when it closes, because only then does the transcript hold its
model responses with their token usage (the hooks carry no cached or thinking tokens)
and the ids of its tool calls. Timing: BeforeModel receipts start model calls, the
transcript's response records end them; hook receipts bound turns and tool calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from staso_otel import semconv as sc
from staso_otel.record.journal import Record
from staso_otel.span.model import SpanData
from staso_otel.targets import jsonl
from staso_otel.targets.base import Context
from staso_otel.targets.gemini import assemble, transcript
from staso_otel.targets.gemini import events as ev_
from staso_otel.targets.gemini.events import Event

STATE_VERSION = 1
MAX_CLOSED = 64  # turn keys remembered after closing (late events of a closed turn)
MAX_FILES = 16
MAX_CALLS = 512  # tool calls and model requests kept per open turn
# A transcript record may be stamped a little before the hook that opened its turn
# was received (the CLI stamps, then runs the hook).
SINCE_SLACK_NS = 1_000_000_000


def _init(state: dict[str, Any]) -> None:
    if state.get("v") != STATE_VERSION:
        state.clear()
        state.update(
            {"v": STATE_VERSION, "sid": None, "n": 0, "meta": {}, "turn": None,
             "files": {}, "closed": [], "perm": None}
        )  # fmt: skip


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
    """Close the open turn as unfinished."""
    _init(state)
    out: list[SpanData] = []
    if state["turn"] is not None:
        _close(state, ctx, out, None, "expired", state["turn"]["last"], ctx.now_ns)
    return out


def _apply(state: dict[str, Any], e: Event, ctx: Context, out: list[SpanData]) -> None:
    meta = state["meta"]
    if e.cwd:
        meta.setdefault("cwd", e.cwd)
    if e.transcript_path:
        meta["path"] = e.transcript_path
    kind = e.kind
    if kind == ev_.SESSION_START:
        meta["source"] = e.source
        if e.source == "startup" and e.transcript_path:
            state["files"].setdefault(e.transcript_path, {"off": 0})
        if state["turn"] is not None:  # a new process: the old one's turn never ended
            turn = state["turn"]
            _close(state, ctx, out, None, "session_restart", turn["last"], e.t)
        return
    if kind == ev_.SESSION_END:
        if state["turn"] is not None:
            _close(state, ctx, out, None, "session_end", e.t, e.t)
        return
    if kind in ("other", ev_.PRE_COMPRESS):
        # PreCompress fires before every model request, compressed or not: no fact
        return
    if kind == ev_.NOTIFICATION:
        if e.notification == "ToolPermission":
            state["perm"] = e.t  # the confirmation comes before the call's BeforeTool
        return
    if kind == ev_.BEFORE_AGENT:
        if state["turn"] is not None:
            turn = state["turn"]
            _close(state, ctx, out, None, "next_turn", turn["last"], e.t)
        key = e.stamp or f"t{e.t}"
        if key in state["closed"]:
            return  # the same BeforeAgent journaled twice
        turn = _open(state, key, e)
        turn["prompt"] = e.prompt[: jsonl.MAX_TEXT] if e.prompt else None
        return
    turn = state["turn"]
    if turn is None:
        if kind == ev_.AFTER_AGENT:
            return  # a late AfterAgent of a turn already closed
        turn = _open(state, f"t{e.t}", e)  # hooks installed mid-turn: no prompt known
    turn["last"] = max(turn["last"], e.t)
    turn["path"] = turn.get("path") or e.transcript_path
    if kind == ev_.BEFORE_MODEL:
        if len(turn["reqs"]) < MAX_CALLS:
            turn["reqs"].append({"t": e.t, "model": e.model})
    elif kind == ev_.AFTER_MODEL:
        _after_model(turn, e)
    elif kind == ev_.BEFORE_TOOL:
        if len(turn["tools"]) < MAX_CALLS:
            perm = state["perm"] is not None
            state["perm"] = None
            turn["tools"].append(
                {"name": e.tool_name or "", "t0": e.t, "t1": None,
                 "in": jsonl.cap(e.tool_input), "perm": perm}
            )  # fmt: skip
    elif kind == ev_.AFTER_TOOL:
        _after_tool(turn, e)
    elif kind == ev_.AFTER_AGENT:
        turn["response"] = e.response
        turn["stop_active"] = e.stop_hook_active
        _close(state, ctx, out, sc.TURN_COMPLETED, "after_agent", e.t, e.t)


def _open(state: dict[str, Any], key: str, e: Event) -> dict[str, Any]:
    state["n"] += 1
    turn = {
        "id": key,
        "num": state["n"],
        "t0": e.t,
        "last": e.t,
        "prompt": None,
        "path": e.transcript_path,
        "cwd": e.cwd,
        "reqs": [],
        "tools": [],
        "response": None,
    }
    state["turn"] = turn
    return turn


def _after_model(turn: dict[str, Any], e: Event) -> None:
    """A streamed chunk (only when a user subscribed AfterModel): the latest request
    ends no earlier than it; the chunk with a finish reason has the final usage."""
    if not turn["reqs"]:
        turn["reqs"].append({"t": e.t, "model": e.model})
    req = turn["reqs"][-1]
    req["end"] = e.t
    if e.finish_reason:
        req["finish"] = e.finish_reason
        req["usage"] = e.usage


def _after_tool(turn: dict[str, Any], e: Event) -> None:
    for tool in turn["tools"]:  # the oldest open call of that name: calls run in order
        if tool["t1"] is None and tool["name"] == (e.tool_name or ""):
            break
    else:
        if len(turn["tools"]) >= MAX_CALLS:
            return
        tool = {"name": e.tool_name or "", "t0": None, "t1": None, "in": jsonl.cap(e.tool_input)}
        turn["tools"].append(tool)
    tool["t1"] = e.t
    tool["resp"] = jsonl.cap(e.tool_response)


def _close(
    state: dict[str, Any],
    ctx: Context,
    out: list[SpanData],
    outcome: str | None,
    reason: str,
    end: int,
    horizon: int,
) -> None:
    """Emit the open turn's spans; the transcript is read up to a little past `horizon`
    (when the event closing it came)."""
    turn = state["turn"]
    path = turn.get("path") or state["meta"].get("path")
    facts = transcript.empty()
    if path:
        files = state["files"]
        fstate = files.setdefault(path, {"off": 0})
        facts = transcript.read(
            fstate, path, horizon + jsonl.READ_AHEAD_NS, turn["t0"] - SINCE_SLACK_NS
        )
        for old in list(files)[: max(0, len(files) - MAX_FILES)]:
            if old != path:
                del files[old]
    out.extend(assemble.build_spans(state, turn, facts, ctx, outcome, reason, end))
    state["turn"] = None
    closed = state["closed"]
    closed.append(turn["id"])
    del closed[: max(0, len(closed) - MAX_CLOSED)]
