"""The Codex CLI target: journal records of `staso hook codex` -> turn traces. [targets/codex]

`TARGET` is what `targets.get("codex")` returns to the worker. The work is split by job:
events.py (hook payloads -> Event), transcript.py (incremental rollout reader),
tools.py (tool names, categories, facts), turns.py (the per-session reducer) and
assemble.py (a closed turn -> SpanData via span/build.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from staso_otel.record.journal import Record
from staso_otel.span.model import SpanData
from staso_otel.targets.base import Context
from staso_otel.targets.codex import turns

__all__ = ["TARGET", "CodexTarget"]


class CodexTarget:
    """Implements targets.base.Target for OpenAI Codex CLI (0.125 .. 0.169 hooks)."""

    name = "codex"
    agent_name = "codex"

    def process(
        self, state: dict[str, Any], records: Sequence[Record], ctx: Context
    ) -> list[SpanData]:
        return turns.process(state, records, ctx)

    def expire(self, state: dict[str, Any], ctx: Context) -> list[SpanData]:
        return turns.expire(state, ctx)


TARGET = CodexTarget()
