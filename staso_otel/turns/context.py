"""Per-worker-run facts the kernel (and every target) needs. [turns]"""

from __future__ import annotations

from dataclasses import dataclass

from staso_otel.turns.state import MAX_HOOK_TEXT, MAX_TEXT, bound


@dataclass(frozen=True)
class Context:
    """Per-worker-run facts a target needs; resolved once, passed down as plain values."""

    now_ns: int
    capture_content: bool = True
    agent_id: str | None = None
    # the export's cap of one content attribute (settings.py's default): what the state
    # keeps of a value must be at least what that cap can show
    max_attribute_bytes: int = 16384

    @property
    def max_text(self) -> int:
        """Characters kept of one transcript value (jsonl.cap)."""
        return bound(MAX_TEXT, self.max_attribute_bytes)

    @property
    def max_hook_text(self) -> int:
        """Characters kept of one hook value: a tool's input, response, error."""
        return bound(MAX_HOOK_TEXT, self.max_attribute_bytes)
