"""The Claude Code target: journal records of `staso hook claude-code` -> turn traces.

`TARGET` is what `targets.get("claude-code")` returns to the worker: the turn kernel
(staso_otel/turns) over what is Claude Code's own, split by job as for Codex: events.py
(hook payloads -> the kernel's vocabulary), agent.py (its behaviour, transcripts,
sub-agent links), transcript.py (incremental transcript reader), spans.py (model, tool and
root facts for the kernel's span assembler), tools.py (categories and facts), exchange.py
(messages) and install.py (settings.json).
"""

from __future__ import annotations

from staso_otel.targets.claude_code.agent import ClaudeCode
from staso_otel.turns.agent import KernelTarget

__all__ = ["TARGET"]

# Anthropic's Claude Code (2.1.x hooks)
TARGET = KernelTarget(ClaudeCode())
