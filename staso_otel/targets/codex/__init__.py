"""The Codex CLI target: journal records of `staso hook codex` -> turn traces. [targets/codex]

`TARGET` is what `targets.get("codex")` returns to the worker: the turn kernel
(staso_otel/turns) over what is Codex's own, split by job: events.py (hook payloads ->
the kernel's vocabulary), agent.py (its behaviour, rollout bookkeeping, sub-agent links),
transcript.py (incremental rollout reader), spans.py (model, tool and root facts for the
kernel's span assembler), tools.py (tool names, categories, facts), install.py.
"""

from __future__ import annotations

from staso_otel.targets.codex.agent import Codex
from staso_otel.turns.agent import KernelTarget

__all__ = ["TARGET"]

# OpenAI Codex CLI (0.125 .. 0.171 hooks)
TARGET = KernelTarget(Codex())
