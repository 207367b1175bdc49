"""The Gemini CLI target: journal records of `staso hook gemini` -> turn traces.

`TARGET` is what `targets.get("gemini")` returns to the worker. The work is split by job,
as for Codex and Claude Code: events.py (hook payloads -> Event), transcript.py
(incremental session transcript reader), tools.py (categories and facts), turns.py (the
per-session reducer), assemble.py (a closed turn -> SpanData via span/build.py) and
install.py (settings.json).
"""

from __future__ import annotations

from staso_otel.targets.base import ReducerTarget
from staso_otel.targets.gemini import turns

__all__ = ["TARGET"]

# Google's Gemini CLI (0.60/0.61 hooks)
TARGET = ReducerTarget(name="gemini", agent_name="gemini-cli", reducer=turns)
