"""The fields Claude-style hook payloads share (Codex copied Claude Code's hook format).

Every field is optional and may be retyped by a newer release: a value of the wrong type
reads as absent.
"""

from __future__ import annotations

from typing import Any

from staso_otel.record.journal import Record
from staso_otel.turns import vocabulary as v


def text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def integer(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def where(record: Record, turn: str | None, **more: Any) -> dict[str, Any]:
    """The context every vocabulary event carries (`turn`: the unit's key, the agent's
    choice), from the payload's common fields."""
    p = record.payload
    return {
        "t": record.received_ns,
        "session_id": p["session_id"],
        "turn": turn,
        "agent_id": text(p.get("agent_id")),
        "agent_type": text(p.get("agent_type")),
        "transcript_path": text(p.get("transcript_path")),
        "cwd": text(p.get("cwd")),
        "permission_mode": text(p.get("permission_mode")),
        **more,
    }


def tool(record: Record) -> dict[str, Any]:
    """A tool event's call: its id, the tool's name, its input."""
    p = record.payload
    return {
        "call_id": text(p.get("tool_use_id")),
        "name": text(p.get("tool_name")),
        "input": p.get("tool_input"),
    }


def compaction(record: Record, where: dict[str, Any], phase: str) -> v.Compaction:
    """PreCompact ("pre") / PostCompact ("post"), with what triggered it (auto | manual)."""
    return v.Compaction(**where, phase=phase, trigger=text(record.payload.get("trigger")))


def stop(record: Record, where: dict[str, Any]) -> v.TurnStopped:
    """Stop: the turn's final answer, and whether a Stop hook already continued it."""
    p = record.payload
    response = text(p.get("last_assistant_message"))
    return v.TurnStopped(
        **where, response=response, stop_hook_active=p.get("stop_hook_active") is True
    )
