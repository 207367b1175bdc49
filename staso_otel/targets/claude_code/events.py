"""Claude Code hook payloads -> normalised facts, one Event per record. [targets/claude_code]

Claude Code 2.1.330 has 33 hook events, 2.1.332 adds PreSkillShellCommand (a skill's
`!cmd` preamble, run before the model sees the skill); a tracer needs thirteen of them (see
docs/claude-code-hooks.md). The turn key is `prompt_id` (one per user prompt); events
raised inside a sub-agent keep the parent's `session_id` and `prompt_id` and add
`agent_id`/`agent_type`. Unknown events are kept with kind "other" and ignored, and every
field is optional: a newer release may drop or retype any of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from staso_otel.record.journal import Record

SESSION_START = "SessionStart"
USER_PROMPT_SUBMIT = "UserPromptSubmit"
PRE_TOOL_USE = "PreToolUse"
PERMISSION_REQUEST = "PermissionRequest"
PERMISSION_DENIED = "PermissionDenied"
POST_TOOL_USE = "PostToolUse"
POST_TOOL_USE_FAILURE = "PostToolUseFailure"
POST_TOOL_BATCH = "PostToolBatch"
SUBAGENT_START = "SubagentStart"
SUBAGENT_STOP = "SubagentStop"
PRE_COMPACT = "PreCompact"
POST_COMPACT = "PostCompact"
STOP = "Stop"
STOP_FAILURE = "StopFailure"
SESSION_END = "SessionEnd"
PRE_SKILL_SHELL_COMMAND = "PreSkillShellCommand"  # 2.1.332+; older releases ignore it

# What `staso setup --target claude-code` subscribes to: every event the reducer reads.
# MessageDisplay is left out on purpose: the transcript has the same text, and each hook
# costs the user an interpreter start.
ALL = (
    SESSION_START,
    USER_PROMPT_SUBMIT,
    PRE_TOOL_USE,
    PERMISSION_REQUEST,
    PERMISSION_DENIED,
    POST_TOOL_USE,
    POST_TOOL_USE_FAILURE,
    POST_TOOL_BATCH,
    SUBAGENT_START,
    SUBAGENT_STOP,
    PRE_COMPACT,
    POST_COMPACT,
    STOP,
    STOP_FAILURE,
    SESSION_END,
    PRE_SKILL_SHELL_COMMAND,
)
TOOL_EVENTS = frozenset(
    {PRE_TOOL_USE, PERMISSION_REQUEST, PERMISSION_DENIED, POST_TOOL_USE, POST_TOOL_USE_FAILURE}
)


@dataclass(frozen=True)
class BatchCall:
    """One entry of PostToolBatch: every call of one model message, ran or not."""

    tool_use_id: str | None
    tool_name: str | None
    tool_input: Any
    response: Any  # what the model saw: a string or content blocks


@dataclass(frozen=True)
class Event:
    kind: str  # one of ALL, or "other"
    t: int  # receipt time, ns
    session_id: str
    prompt_id: str | None = None
    agent_id: str | None = None  # set on events raised inside a sub-agent
    agent_type: str | None = None
    transcript_path: str | None = None
    agent_transcript_path: str | None = None
    cwd: str | None = None
    permission_mode: str | None = None
    source: str | None = None  # SessionStart: startup | resume | clear | compact
    prompt: str | None = None
    tool_name: str | None = None
    tool_input: Any = None
    tool_response: Any = None
    tool_use_id: str | None = None
    error: str | None = None  # PostToolUseFailure, StopFailure
    is_interrupt: bool = False
    duration_ms: int | None = None
    batch: tuple[BatchCall, ...] = ()
    stop_hook_active: bool = False
    last_message: str | None = None
    reason: str | None = None  # SessionEnd
    trigger: str | None = None  # Pre/PostCompact: auto | manual
    command_name: str | None = None  # PreSkillShellCommand: the skill holding the command
    command_source: str | None = None  # PreSkillShellCommand: userSettings, plugin, ...


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _batch(value: Any) -> tuple[BatchCall, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(
        BatchCall(
            _str(c.get("tool_use_id")),
            _str(c.get("tool_name")),
            c.get("tool_input"),
            c.get("tool_response"),
        )
        for c in value
        if isinstance(c, dict)
    )


def parse(record: Record) -> Event | None:
    """A journal record as an Event; None when it has no session id (never journaled)."""
    p = record.payload
    session_id = _str(p.get("session_id"))
    if session_id is None:
        return None
    kind = p.get("hook_event_name")
    duration = p.get("duration_ms")
    return Event(
        kind=kind if kind in ALL else "other",
        t=record.received_ns,
        session_id=session_id,
        prompt_id=_str(p.get("prompt_id")),
        agent_id=_str(p.get("agent_id")),
        agent_type=_str(p.get("agent_type")),
        transcript_path=_str(p.get("transcript_path")),
        agent_transcript_path=_str(p.get("agent_transcript_path")),
        cwd=_str(p.get("cwd")),
        permission_mode=_str(p.get("permission_mode")),
        source=_str(p.get("source")),
        prompt=p.get("prompt") if isinstance(p.get("prompt"), str) else None,
        tool_name=_str(p.get("tool_name")),
        tool_input=p.get("tool_input"),
        tool_response=p.get("tool_response"),
        tool_use_id=_str(p.get("tool_use_id")),
        error=_str(p.get("error")),
        is_interrupt=p.get("is_interrupt") is True,
        duration_ms=int(duration) if isinstance(duration, (int, float)) else None,
        batch=_batch(p.get("tool_calls")),
        stop_hook_active=p.get("stop_hook_active") is True,
        last_message=_str(p.get("last_assistant_message")),
        reason=_str(p.get("reason")),
        trigger=_str(p.get("trigger")),
        command_name=_str(p.get("command_name")),
        command_source=_str(p.get("command_source")),
    )
