"""What a target (one agent: Codex, Claude Code) must provide to the worker.

The worker owns I/O (journals, state files, spool); a target is given the records that
arrived since last time plus its own per-session state (a JSON-able dict it mutates) and
returns the spans that are finished. This keeps every target a sibling room behind one
small protocol; every agent's Target is the turn kernel over that agent
(`staso_otel.turns.agent.KernelTarget`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from staso_otel.record.journal import Record
from staso_otel.span.model import SpanData
from staso_otel.turns.context import Context

__all__ = ["IDLE_EXPIRY_NS", "SESSION_END_EVENT", "Context", "Target"]

IDLE_EXPIRY_NS = 24 * 3600 * 1_000_000_000
# Both agents' hooks end a session with this event (a resume starts it again, same id).
SESSION_END_EVENT = "SessionEnd"


class Target(Protocol):
    name: str  # journal folder and `staso hook <name>`
    agent_name: str  # gen_ai.agent.name of the root span, service.name default

    def process(
        self, state: dict[str, Any], records: Sequence[Record], ctx: Context
    ) -> list[SpanData]:
        """Consume records (in journal order); return the spans that are now complete."""
        ...

    def expire(self, state: dict[str, Any], ctx: Context) -> list[SpanData]:
        """The session has been idle past IDLE_EXPIRY_NS: close whatever is open as
        unfinished (exported, not dropped); the worker then deletes the state."""
        ...
