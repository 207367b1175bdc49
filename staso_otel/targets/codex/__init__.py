"""The Codex CLI target: journal records of `staso hook codex` -> turn traces. [targets/codex]

`TARGET` is what `targets.get("codex")` returns to the worker. The work is split by job:
events.py (hook payloads -> Event), transcript.py (incremental rollout reader),
tools.py (tool names, categories, facts), turns.py (the per-session reducer) and
assemble.py (a closed turn -> SpanData via span/build.py).
"""

from __future__ import annotations

from staso_otel.targets.base import ReducerTarget
from staso_otel.targets.codex import turns

__all__ = ["TARGET"]

# OpenAI Codex CLI (0.125 .. 0.169 hooks)
TARGET = ReducerTarget(name="codex", agent_name="codex", reducer=turns)
