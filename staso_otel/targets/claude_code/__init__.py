"""The Claude Code target: journal records of `staso hook claude-code` -> turn traces.

`TARGET` is what `targets.get("claude-code")` returns to the worker. The work is split by
job, as for Codex: events.py (hook payloads -> Event), transcript.py (incremental
transcript reader), tools.py (categories and facts), turns.py (the per-session reducer),
assemble.py (a closed turn -> SpanData via span/build.py) and install.py (settings.json).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from staso_otel.record.journal import Record
from staso_otel.span.model import SpanData
from staso_otel.targets.base import Context
from staso_otel.targets.claude_code import turns

__all__ = ["TARGET", "ClaudeCodeTarget"]


class ClaudeCodeTarget:
    """Implements targets.base.Target for Anthropic's Claude Code (2.1.x hooks)."""

    name = "claude-code"
    agent_name = "claude-code"

    def process(
        self, state: dict[str, Any], records: Sequence[Record], ctx: Context
    ) -> list[SpanData]:
        return turns.process(state, records, ctx)

    def expire(self, state: dict[str, Any], ctx: Context) -> list[SpanData]:
        return turns.expire(state, ctx)


TARGET = ClaudeCodeTarget()
