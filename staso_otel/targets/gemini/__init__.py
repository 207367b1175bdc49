"""The Gemini CLI target: journal records of `staso hook gemini` -> turn traces.

`TARGET` is what `targets.get("gemini")` returns to the worker: the turn kernel
(staso_otel/turns) over what is Gemini CLI's own, split by job as for Codex and Claude
Code: events.py (hook payloads -> the kernel's vocabulary), agent.py (its behaviour and
transcript), transcript.py (incremental transcript reader), spans.py (model, tool and root
facts for the kernel's span assembler), tools.py (categories and facts) and install.py
(settings.json).
"""

from __future__ import annotations

from staso_otel.targets.gemini.agent import Gemini
from staso_otel.turns.agent import KernelTarget

__all__ = ["TARGET"]

# Google's Gemini CLI (0.60/0.61 hooks)
TARGET = KernelTarget(Gemini())
