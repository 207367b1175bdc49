"""Gemini CLI hook payloads -> normalised facts, one Event per record. [targets/gemini]

Gemini CLI 0.60/0.61 has eleven hook events (docs/gemini.md). Every payload carries
`session_id`, `transcript_path`, `cwd`, `hook_event_name` and `timestamp` (ISO, ms) and
nothing that names a turn, a model request or a tool call: a turn is keyed by its
BeforeAgent and every later event placed in the session's open turn (the CLI runs one
turn at a time per session). Unknown events are context only, and every field is
optional: a newer release may drop or retype any of them.
"""

from __future__ import annotations

from typing import Any

from staso_otel.record.journal import Record
from staso_otel.span.build import Usage
from staso_otel.targets import payload
from staso_otel.targets.payload import text
from staso_otel.turns import vocabulary as v

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


def _usage(meta: Any) -> Usage | None:
    """AfterModel's usageMetadata (prompt, candidates, total: no cached, no thinking)."""
    if not isinstance(meta, dict):
        return None

    def n(key: str) -> int:
        value = meta.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    total = meta.get("totalTokenCount")
    return Usage(
        input_tokens=n("promptTokenCount"),
        output_tokens=n("candidatesTokenCount"),
        total_tokens=total if isinstance(total, int) and not isinstance(total, bool) else None,
    )


def _finish(response: Any) -> str | None:
    candidates = response.get("candidates") if isinstance(response, dict) else None
    first = candidates[0] if isinstance(candidates, list) and candidates else None
    return text(first.get("finishReason")) if isinstance(first, dict) else None


def parse(record: Record) -> list[v.Event]:
    """A journal record as vocabulary events; none when it has no session id (never
    journaled). Only BeforeAgent names its turn (by its own timestamp); every later event
    belongs to the session's open turn (`CURRENT`)."""
    p = record.payload
    if text(p.get("session_id")) is None:
        return []
    kind = p.get("hook_event_name")
    here = payload.where(record, v.CURRENT)
    request = p.get("llm_request") if isinstance(p.get("llm_request"), dict) else {}
    model = text(request.get("model"))
    if kind == SESSION_START:
        source = text(p.get("source"))
        # a new process (startup, resume) or /clear: a turn still open never ended
        return [v.SessionStarted(**here, source=source, fresh=source == "startup", restart=True)]
    if kind == SESSION_END:
        return [v.SessionEnded(**here)]
    if kind == BEFORE_AGENT:
        key = text(p.get("timestamp")) or f"t{record.received_ns}"
        prompt = p.get("prompt") if isinstance(p.get("prompt"), str) else None
        return [v.TurnStarted(**payload.where(record, key), prompt=prompt)]
    if kind == BEFORE_MODEL:
        return [v.ModelRequest(**here, model=model)]
    if kind == AFTER_MODEL:  # once per streamed chunk: the last one has the finish reason
        response = p.get("llm_response")
        if _finish(response) is None:
            return [v.Event(**here)]
        usage = _usage(response.get("usageMetadata"))
        return [v.ModelResponse(**here, model=model, status="completed", usage=usage)]
    if kind == BEFORE_TOOL:
        return [v.ToolStarted(**here, **payload.tool(record))]
    if kind == AFTER_TOOL:
        return [v.ToolFinished(**here, **payload.tool(record), response=p.get("tool_response"))]
    if kind == NOTIFICATION and p.get("notification_type") == "ToolPermission":
        # asked before the call's BeforeTool, naming no tool (only how it is confirmed)
        return [v.ToolPermission(**here, name=None)]
    if kind == AFTER_AGENT:
        response = text(p.get("prompt_response"))
        active = p.get("stop_hook_active") is True
        return [v.TurnStopped(**here, response=response, stop_hook_active=active)]
    # PreCompress fires before every model request, compressed or not: context only
    return [v.Event(**here)]
