"""Registry of agent targets: a dict, not plugins (no entry-point scan on any hot path)."""

from __future__ import annotations

import importlib

from staso_otel.targets.base import Context, Target

__all__ = ["REGISTRY", "Context", "Target", "get"]

# name -> "module:attribute"; imported only when the worker needs that target.
REGISTRY: dict[str, str] = {
    "codex": "staso_otel.targets.codex:TARGET",
    "claude-code": "staso_otel.targets.claude_code:TARGET",
    "gemini": "staso_otel.targets.gemini:TARGET",
}


def get(name: str) -> Target:
    try:
        module_name, _, attr = REGISTRY[name].partition(":")
    except KeyError:
        raise KeyError(f"unknown target {name!r}; known: {', '.join(sorted(REGISTRY))}") from None
    return getattr(importlib.import_module(module_name), attr)
