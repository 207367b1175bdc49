"""staso_otel: OpenTelemetry traces for coding agents and for your own Python agents.

Importing this package is cheap: names that need the OpenTelemetry SDK are resolved on
first use (module `__getattr__`), so the hook runtime and `import staso_otel` pay nothing
for what they do not call.
"""

from __future__ import annotations

# 0.6: the successor of the unrelated `staso` 0.5.x on PyPI, so it sorts above it
__version__ = "0.6.0"

# public name -> module that defines it; imported (with OpenTelemetry) on first use
_LAZY: dict[str, str] = {
    name: "staso_otel.api"
    for name in (
        "configure",
        "turn",
        "llm_call",
        "tool_call",
        "tool",
        "Turn",
        "LLMCall",
        "ToolCall",
    )
}
_LAZY |= {name: "staso_otel.instrument" for name in ("instrument_openai", "instrument_anthropic")}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'staso_otel' has no attribute {name!r}")
    import importlib  # here, not at the top: the hook imports this package on every event

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
