"""The normalised events an agent's parser emits: what happened, never how the agent said it.

Every field is optional beyond the time and the session: agents (and their releases)
report different subsets. Token usage is already normalised (`span.build.Usage`). See the
package docstring for the list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from staso_otel.span.build import Usage

# Events are built on every record and their classes at every worker start: an __init__
# and a __repr__ each, nothing else generated (they are never compared, nor changed after
# the parser made them; dataclasses.replace makes a new one).
_event = dataclass(kw_only=True, eq=False)

# `turn=CURRENT`: the event belongs to the session's open main turn, whatever its key (an
# agent whose payloads name no turn after the one that opened it, e.g. Gemini CLI).
CURRENT = "<current turn>"


@_event
class Event:
    """Context only: an event the kernel has no step for still says where the session is."""

    t: int  # receipt time, ns
    session_id: str
    turn: str | None = None  # the unit's key: a main turn's id, a sub-agent unit's, CURRENT
    agent_id: str | None = None  # raised inside a sub-agent
    agent_type: str | None = None
    parent_turn: str | None = None  # a sub-agent's: the main turn it runs for, if known
    transcript_path: str | None = None
    model: str | None = None
    cwd: str | None = None
    permission_mode: str | None = None


@_event
class SessionStarted(Event):
    source: str | None = None  # startup | resume | compact | clear | fork ...
    fresh: bool = False  # a new transcript: read it from byte 0
    fork: bool = False  # the transcript's history older than this event is another session's
    restart: bool = False  # open main turns end here (a new conversation, same session)


@_event
class SessionEnded(Event):
    pass


@_event
class TurnStarted(Event):
    prompt: str | None = None
    # a background task's notification: {"call": its call id, "status", "exit"}
    background: dict[str, Any] | None = None


@_event
class ModelRequest(Event):
    kind: str | None = None  # sampling | foreground_compaction | ...
    request_id: str | None = None  # the same across retries
    attempt: int | None = None


@_event
class ModelResponse(ModelRequest):
    status: str | None = None  # completed | failed
    error: str | None = None
    usage: Usage | None = None
    response_id: str | None = None


@_event
class ToolEvent(Event):
    call_id: str | None = None  # None: an open call of that name (Behaviour says which)
    name: str | None = None
    input: Any = None


@_event
class ToolStarted(ToolEvent):
    # facts of the agent's own kind of call, kept on it for its span facts
    extra: dict[str, Any] | None = None


@_event
class ToolPermission(ToolEvent):
    """Asked before the call started (no open call of that name): about the next call of
    that name, or, naming no tool, the next call whatever its name."""

    denied: bool = False


@_event
class ToolFinished(ToolEvent):
    response: Any = None
    error: str | None = None  # set: the call failed
    interrupted: bool = False
    duration_ms: int | None = None
    spawned_agent: str | None = None  # the sub-agent this call started, by the agent's word


@_event
class ToolAnswered(ToolEvent):
    """What the model was told of a call; one that no hook saw run ends here, not run."""

    visible: Any = None


@_event
class SubagentStarted(Event):
    pass


@_event
class SubagentStopped(Event):
    response: str | None = None
    agent_transcript_path: str | None = None


@_event
class Compaction(Event):
    phase: str = "pre"  # pre | post
    trigger: str | None = None  # auto | manual


@_event
class TurnStopped(Event):
    response: str | None = None
    stop_hook_active: bool = False


@_event
class TurnFailed(Event):
    error: str | None = None


@_event
class TurnInterrupted(Event):
    pass
