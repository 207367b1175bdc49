"""Gemini CLI hook payloads -> normalised facts, one Event per record. [targets/gemini]

Gemini CLI 0.60/0.61 has eleven hook events (docs/gemini.md). Every payload carries
`session_id`, `transcript_path`, `cwd`, `hook_event_name` and `timestamp` (ISO, ms) and
nothing that names a turn, a model request or a tool call: the reducer keys a turn by its
BeforeAgent and places every later event in the session's open turn (the CLI runs one
turn at a time per session). Unknown events are kept with kind "other" and ignored, and
every field is optional: a newer release may drop or retype any of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from staso_otel.record.journal import Record

SESSION_START = "SessionStart"
BEFORE_AGENT = "BeforeAgent"
BEFORE_MODEL = "BeforeModel"
AFTER_MODEL = "AfterModel"
BEFORE_TOOL = "BeforeTool"
AFTER_TOOL = "AfterTool"
NOTIFICATION = "Notification"
PRE_COMPRESS = "PreCompress"
AFTER_AGENT = "AfterAgent"
SESSION_END = "SessionEnd"

# What `staso setup --target gemini` subscribes to. Left out on purpose, each hook costing
# the user an interpreter start that the CLI awaits: AfterModel fires once per streamed
# chunk and its usage lacks cached and thinking tokens (the transcript has the response
# whole), PreCompress fires before every model request whether or not anything is
# compressed, BeforeToolSelection carries nothing a trace needs. The reducer still reads
# AfterModel and PreCompress when a user subscribes them.
ALL = (
    SESSION_START,
    BEFORE_AGENT,
    BEFORE_MODEL,
    BEFORE_TOOL,
    AFTER_TOOL,
    NOTIFICATION,
    AFTER_AGENT,
    SESSION_END,
)
KNOWN = frozenset(ALL) | {AFTER_MODEL, PRE_COMPRESS}


@dataclass(frozen=True)
class Event:
    kind: str  # one of KNOWN, or "other"
    t: int  # receipt time, ns
    session_id: str
    stamp: str | None = None  # the payload's own `timestamp`: a BeforeAgent's is its turn key
    transcript_path: str | None = None
    cwd: str | None = None
    source: str | None = None  # SessionStart: startup | resume | clear
    reason: str | None = None  # SessionEnd: exit | clear | logout | prompt_input_exit | other
    prompt: str | None = None  # BeforeAgent, AfterAgent
    response: str | None = None  # AfterAgent prompt_response
    stop_hook_active: bool = False
    model: str | None = None  # BeforeModel/AfterModel llm_request.model
    messages: tuple[dict[str, Any], ...] = ()  # BeforeModel llm_request.messages (text only)
    usage: dict[str, Any] | None = None  # AfterModel llm_response.usageMetadata
    finish_reason: str | None = None  # AfterModel: set on a response's last chunk
    tool_name: str | None = None
    tool_input: Any = None
    tool_response: Any = None  # AfterTool: {llmContent, returnDisplay, error?}
    notification: str | None = None  # Notification: notification_type (ToolPermission)
    details: Any = None
    trigger: str | None = None  # PreCompress: auto | manual


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _finish(response: dict[str, Any]) -> str | None:
    candidates = response.get("candidates")
    first = candidates[0] if isinstance(candidates, list) and candidates else None
    return _str(first.get("finishReason")) if isinstance(first, dict) else None


def parse(record: Record) -> Event | None:
    """A journal record as an Event; None when it has no session id (never journaled)."""
    p = record.payload
    session_id = _str(p.get("session_id"))
    if session_id is None:
        return None
    kind = p.get("hook_event_name")
    request = _dict(p.get("llm_request"))
    response = _dict(p.get("llm_response"))
    messages = request.get("messages")
    return Event(
        kind=kind if kind in KNOWN else "other",
        t=record.received_ns,
        session_id=session_id,
        stamp=_str(p.get("timestamp")),
        transcript_path=_str(p.get("transcript_path")),
        cwd=_str(p.get("cwd")),
        source=_str(p.get("source")),
        reason=_str(p.get("reason")),
        prompt=p.get("prompt") if isinstance(p.get("prompt"), str) else None,
        response=_str(p.get("prompt_response")),
        stop_hook_active=p.get("stop_hook_active") is True,
        model=_str(request.get("model")),
        messages=tuple(m for m in messages if isinstance(m, dict))
        if isinstance(messages, list)
        else (),
        usage=_dict(response.get("usageMetadata")) or None,
        finish_reason=_finish(response),
        tool_name=_str(p.get("tool_name")),
        tool_input=p.get("tool_input"),
        tool_response=p.get("tool_response"),
        notification=_str(p.get("notification_type")),
        details=p.get("details"),
        trigger=_str(p.get("trigger")),
    )
