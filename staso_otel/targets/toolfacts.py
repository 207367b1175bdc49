"""What a tool catalogue says about one call, for every agent. [targets, stdlib]

Each agent's `tools.facts()` reads its own argument and result shapes and fills one of
these: the span attributes it found (`staso.tool.*`, `staso.file.*`, ...) and, when the
call failed, why (error.type and a message).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ToolFacts:
    attrs: dict[str, Any] = field(default_factory=dict)
    error_type: str | None = None
    error_message: str | None = None
