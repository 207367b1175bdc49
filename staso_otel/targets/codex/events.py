"""Codex hook payloads -> normalised facts: one Event per journal record. [targets/codex]

Covers the 14 events of Codex 0.169.0 (SessionStart, UserPromptSubmit, PreModelRequest,
PostModelRequest, PreToolUse, PermissionRequest, PostToolUse, PreCompact, PostCompact,
SubagentStart, SubagentStop, Stop, Interrupt, SessionEnd) and the 5 of older releases
(the same names, fewer of them). Unknown events are kept with kind "other" and ignored.
Field presence differs per event and version, so every field is optional.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from staso_otel.record.journal import Record
from staso_otel.span.build import Usage

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


@dataclass(frozen=True)
class Event:
    kind: str  # one of ALL, or "other"
    t: int  # receipt time, ns
    session_id: str
    turn_id: str | None = None
    agent_id: str | None = None  # set on events raised inside a sub-agent
    agent_type: str | None = None
    transcript_path: str | None = None
    agent_transcript_path: str | None = None
    model: str | None = None
    cwd: str | None = None
    permission_mode: str | None = None
    source: str | None = None  # SessionStart: startup | resume | compact | clear
    prompt: str | None = None
    status: str | None = None  # PostModelRequest: completed | failed
    error: str | None = None
    usage: Usage | None = None
    tool_name: str | None = None
    tool_input: Any = None
    tool_response: Any = None
    tool_use_id: str | None = None
    stop_hook_active: bool = False
    last_message: str | None = None
    trigger: str | None = None  # Pre/PostCompact: auto | manual
    reason: str | None = None  # SessionEnd
    # Pre/PostModelRequest of Codex 0.171+: what the request is for, its id across retries,
    # the attempt, and the response it got
    request_kind: str | None = None  # sampling | foreground_compaction | ...
    request_id: str | None = None
    attempt: int | None = None
    response_id: str | None = None


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


def parse(record: Record) -> Event | None:
    """A journal record as an Event; None when it has no session id (never journaled)."""
    p = record.payload
    session_id = _str(p.get("session_id"))
    if session_id is None:
        return None
    kind = p.get("hook_event_name")
    return Event(
        kind=kind if kind in ALL else "other",
        t=record.received_ns,
        session_id=session_id,
        turn_id=_str(p.get("turn_id")),
        agent_id=_str(p.get("agent_id")),
        agent_type=_str(p.get("agent_type")),
        transcript_path=_str(p.get("transcript_path")),
        agent_transcript_path=_str(p.get("agent_transcript_path")),
        model=_str(p.get("model")),
        cwd=_str(p.get("cwd")),
        permission_mode=_str(p.get("permission_mode")),
        source=_str(p.get("source")),
        prompt=p.get("prompt") if isinstance(p.get("prompt"), str) else None,
        status=_str(p.get("status")),
        error=_str(p.get("error")),
        usage=usage_from(p.get("token_usage")),
        tool_name=_str(p.get("tool_name")),
        tool_input=p.get("tool_input"),
        tool_response=p.get("tool_response"),
        tool_use_id=_str(p.get("tool_use_id")),
        stop_hook_active=p.get("stop_hook_active") is True,
        last_message=_str(p.get("last_assistant_message")),
        trigger=_str(p.get("trigger")),
        reason=_str(p.get("reason")),
        request_kind=_str(p.get("kind")),
        request_id=_str(p.get("request_id")),
        attempt=_int(p.get("attempt_number")),
        response_id=_str(p.get("response_id")),
    )
