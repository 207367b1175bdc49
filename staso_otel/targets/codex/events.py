"""Codex hook payloads -> the kernel's vocabulary, per journal record. [targets/codex]

Covers the 14 events of Codex 0.169.0 (SessionStart, UserPromptSubmit, PreModelRequest,
PostModelRequest, PreToolUse, PermissionRequest, PostToolUse, PreCompact, PostCompact,
SubagentStart, SubagentStop, Stop, Interrupt, SessionEnd) and the 5 of older releases
(the same names, fewer of them). An unknown event becomes a context-only `Event`.
Field presence differs per event and version, so every field is optional.
"""

from __future__ import annotations

from typing import Any

from staso_otel.record.journal import Record
from staso_otel.span.build import Usage
from staso_otel.targets import payload
from staso_otel.targets.codex import tools
from staso_otel.targets.payload import integer, text
from staso_otel.turns import vocabulary as v

SESSION_START = "SessionStart"
USER_PROMPT_SUBMIT = "UserPromptSubmit"
PRE_MODEL_REQUEST = "PreModelRequest"
POST_MODEL_REQUEST = "PostModelRequest"
PRE_TOOL_USE = "PreToolUse"
PERMISSION_REQUEST = "PermissionRequest"
POST_TOOL_USE = "PostToolUse"
PRE_COMPACT = "PreCompact"
POST_COMPACT = "PostCompact"
SUBAGENT_START = "SubagentStart"
SUBAGENT_STOP = "SubagentStop"
STOP = "Stop"
INTERRUPT = "Interrupt"
SESSION_END = "SessionEnd"

ALL = frozenset(
    {
        SESSION_START,
        USER_PROMPT_SUBMIT,
        PRE_MODEL_REQUEST,
        POST_MODEL_REQUEST,
        PRE_TOOL_USE,
        PERMISSION_REQUEST,
        POST_TOOL_USE,
        PRE_COMPACT,
        POST_COMPACT,
        SUBAGENT_START,
        SUBAGENT_STOP,
        STOP,
        INTERRUPT,
        SESSION_END,
    }
)
LEGACY = frozenset({SESSION_START, USER_PROMPT_SUBMIT, PRE_TOOL_USE, POST_TOOL_USE, STOP})


def usage_from(data: Any) -> Usage | None:
    """Codex TokenUsage (hooks, rollout, `--json`) -> Usage; None if absent."""
    if not isinstance(data, dict):
        return None

    def n(key: str) -> int:
        value = data.get(key)
        return int(value) if isinstance(value, (int, float)) else 0

    total = data.get("total_tokens")
    return Usage(
        input_tokens=n("input_tokens"),
        output_tokens=n("output_tokens"),
        cache_read_tokens=n("cached_input_tokens"),
        cache_write_tokens=n("cache_write_input_tokens"),
        reasoning_tokens=n("reasoning_output_tokens"),
        total_tokens=int(total) if isinstance(total, (int, float)) else None,
    )


def parse(record: Record) -> list[v.Event]:
    """A journal record as vocabulary events; none when it has no session id (never
    journaled). An unknown event (a newer Codex) still tells the model and cwd."""
    p = record.payload
    session_id = text(p.get("session_id"))
    if session_id is None:
        return []
    kind = p.get("hook_event_name")
    where = payload.where(record, text(p.get("turn_id")), model=text(p.get("model")))
    # the fields only some events carry are read in those events' branches: most records
    # are model requests and tool calls, and the parse runs once per record
    if kind == SESSION_START:
        source = text(p.get("source"))
        # a new rollout is read from byte 0; a start closes nothing: with async hooks it may
        # be journaled after the turn it precedes, and a turn a previous process left open
        # is closed by the next turn's first event
        return [v.SessionStarted(**where, source=source, fresh=source == "startup")]
    if kind == SESSION_END:
        return [v.SessionEnded(**where)]
    if kind == SUBAGENT_START:
        return [v.SubagentStarted(**where)]
    if kind == SUBAGENT_STOP:
        return [v.SubagentStopped(**where, response=text(p.get("last_assistant_message")))]
    if kind == USER_PROMPT_SUBMIT:
        prompt = p.get("prompt")
        return [v.TurnStarted(**where, prompt=prompt if isinstance(prompt, str) else None)]
    if kind == PRE_MODEL_REQUEST:
        return [v.ModelRequest(**where, **_request(p))]
    if kind == POST_MODEL_REQUEST:
        return [
            v.ModelResponse(
                **where,
                **_request(p),
                status=text(p.get("status")),
                error=text(p.get("error")),
                usage=usage_from(p.get("token_usage")),
                response_id=text(p.get("response_id")),
            )
        ]
    if kind == PRE_TOOL_USE:
        return [v.ToolStarted(**where, **payload.tool(record))]
    if kind == PERMISSION_REQUEST:  # it names no call: it is the open call of that tool
        return [v.ToolPermission(**where, **{**payload.tool(record), "call_id": None})]
    if kind == POST_TOOL_USE:
        tool = payload.tool(record)
        response = p.get("tool_response")
        return [
            v.ToolFinished(
                **where, **tool, response=response, spawned_agent=_spawned(tool, response)
            )
        ]
    if kind in (PRE_COMPACT, POST_COMPACT):
        return [payload.compaction(record, where, "pre" if kind == PRE_COMPACT else "post")]
    if kind == STOP:
        return [payload.stop(record, where)]
    if kind == INTERRUPT:
        return [v.TurnInterrupted(**where)]
    return [v.Event(**where)]


def _request(p: dict[str, Any]) -> dict[str, Any]:
    """A model request's own fields (Pre/PostModelRequest)."""
    return {
        "kind": text(p.get("kind")),
        "request_id": text(p.get("request_id")),
        "attempt": integer(p.get("attempt_number")),
    }


def _spawned(tool: dict[str, Any], response: Any) -> str | None:
    """The sub-agent a spawn_agent call started, by the id its result names."""
    if tools.canonical_hook_name(tool["name"] or "") != "spawn_agent":
        return None
    result = tools.parse_json(response)
    agent_id = result.get("agent_id") if isinstance(result, dict) else None
    return agent_id if isinstance(agent_id, str) else None
