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
from staso_otel.targets.codex import tools
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


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


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
    session_id = _str(p.get("session_id"))
    if session_id is None:
        return []
    kind = p.get("hook_event_name")
    where = {
        "t": record.received_ns,
        "session_id": session_id,
        "turn": _str(p.get("turn_id")),
        "agent_id": _str(p.get("agent_id")),
        "agent_type": _str(p.get("agent_type")),
        "transcript_path": _str(p.get("transcript_path")),
        "model": _str(p.get("model")),
        "cwd": _str(p.get("cwd")),
        "permission_mode": _str(p.get("permission_mode")),
    }
    tool = {
        "call_id": _str(p.get("tool_use_id")),
        "name": _str(p.get("tool_name")),
        "input": p.get("tool_input"),
    }
    request = {
        "kind": _str(p.get("kind")),
        "request_id": _str(p.get("request_id")),
        "attempt": _int(p.get("attempt_number")),
    }
    last_message = _str(p.get("last_assistant_message"))
    if kind == SESSION_START:
        source = _str(p.get("source"))
        # a new rollout is read from byte 0; a start closes nothing: with async hooks it may
        # be journaled after the turn it precedes, and a turn a previous process left open
        # is closed by the next turn's first event
        return [v.SessionStarted(**where, source=source, fresh=source == "startup")]
    if kind == SESSION_END:
        return [v.SessionEnded(**where)]
    if kind == SUBAGENT_START:
        return [v.SubagentStarted(**where)]
    if kind == SUBAGENT_STOP:
        return [v.SubagentStopped(**where, response=last_message)]
    if kind == USER_PROMPT_SUBMIT:
        prompt = p.get("prompt")
        return [v.TurnStarted(**where, prompt=prompt if isinstance(prompt, str) else None)]
    if kind == PRE_MODEL_REQUEST:
        return [v.ModelRequest(**where, **request)]
    if kind == POST_MODEL_REQUEST:
        return [
            v.ModelResponse(
                **where,
                **request,
                status=_str(p.get("status")),
                error=_str(p.get("error")),
                usage=usage_from(p.get("token_usage")),
                response_id=_str(p.get("response_id")),
            )
        ]
    if kind == PRE_TOOL_USE:
        return [v.ToolStarted(**where, **tool)]
    if kind == PERMISSION_REQUEST:  # it names no call: it is the open call of that tool
        return [v.ToolPermission(**where, **{**tool, "call_id": None})]
    if kind == POST_TOOL_USE:
        response = p.get("tool_response")
        return [
            v.ToolFinished(
                **where, **tool, response=response, spawned_agent=_spawned(tool, response)
            )
        ]
    if kind in (PRE_COMPACT, POST_COMPACT):
        phase = "pre" if kind == PRE_COMPACT else "post"
        return [v.Compaction(**where, phase=phase, trigger=_str(p.get("trigger")))]
    if kind == STOP:
        active = p.get("stop_hook_active") is True
        return [v.TurnStopped(**where, response=last_message, stop_hook_active=active)]
    if kind == INTERRUPT:
        return [v.TurnInterrupted(**where)]
    return [v.Event(**where)]


def _spawned(tool: dict[str, Any], response: Any) -> str | None:
    """The sub-agent a spawn_agent call started, by the id its result names."""
    if tools.canonical_hook_name(tool["name"] or "") != "spawn_agent":
        return None
    result = tools.parse_json(response)
    agent_id = result.get("agent_id") if isinstance(result, dict) else None
    return agent_id if isinstance(agent_id, str) else None
