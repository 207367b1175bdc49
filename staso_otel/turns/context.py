"""Per-worker-run facts the kernel (and every target) needs. [turns]"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Context:
    """Per-worker-run facts a target needs; resolved once, passed down as plain values."""

    now_ns: int
    capture_content: bool = True
    agent_id: str | None = None
