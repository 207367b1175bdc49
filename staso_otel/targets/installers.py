"""Per-target installers, by name: what `staso setup/status/sync/uninstall` work through.

Each module offers the same small surface: DISPLAY, SCOPES, setup_target(), status_lines(),
resync(), uninstall(), load_record(), sync_if_needed() and InstallError. Imported only
when a command needs that target (Codex's pulls in tomlkit).
"""

from __future__ import annotations

import importlib
from types import ModuleType

INSTALLERS: dict[str, str] = {
    "codex": "staso_otel.targets.codex.install",
    "claude-code": "staso_otel.targets.claude_code.install",
    "gemini": "staso_otel.targets.gemini.install",
}
NAMES = tuple(INSTALLERS)


def get(target: str) -> ModuleType:
    try:
        return importlib.import_module(INSTALLERS[target])
    except KeyError:
        raise KeyError(f"unknown target {target!r}; known: {', '.join(NAMES)}") from None


def installed() -> list[str]:
    """Targets set up on this machine (they have an install record)."""
    return [name for name in NAMES if get(name).load_record()]
