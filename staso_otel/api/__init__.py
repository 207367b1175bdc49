"""The library API: trace your own Python agent with the same spans as a Codex turn. [api]"""

from __future__ import annotations

from staso_otel.api.config import SpoolSpanProcessor, Tracing, configure, reset
from staso_otel.api.spans import LLMCall, ToolCall, Turn, llm_call, tool, tool_call, turn

__all__ = [
    "LLMCall",
    "SpoolSpanProcessor",
    "ToolCall",
    "Tracing",
    "Turn",
    "configure",
    "llm_call",
    "reset",
    "tool",
    "tool_call",
    "turn",
]
