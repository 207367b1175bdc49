"""The Claude Code target: journal records of `staso hook claude-code` -> turn traces.

`TARGET` is what `targets.get("claude-code")` returns to the worker. The work is split by
job, as for Codex: events.py (hook payloads -> Event), transcript.py (incremental
transcript reader), tools.py (categories and facts), turns.py (the per-session reducer),
assemble.py (a closed turn -> SpanData via span/build.py) and install.py (settings.json).
"""

from __future__ import annotations

from staso_otel.targets.base import ReducerTarget
from staso_otel.targets.claude_code import turns

__all__ = ["TARGET"]

# Anthropic's Claude Code (2.1.x hooks)
TARGET = ReducerTarget(name="claude-code", agent_name="claude-code", reducer=turns)
