"""Per-target installers, by name: what `staso setup/status/sync/uninstall` work through.

Each offers the same small surface (`Installer`): Codex's install module itself, and for
the agents whose hooks live in a settings.json the module's `INSTALLER` (one
SettingsInstaller over what that agent knows of itself). Imported only when a command
needs that target (Codex's pulls in tomlkit).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, Protocol

INSTALLERS: dict[str, str] = {
    "codex": "staso_otel.targets.codex.install",
    "claude-code": "staso_otel.targets.claude_code.install",
    "gemini": "staso_otel.targets.gemini.install",
}
NAMES = tuple(INSTALLERS)


class Installer(Protocol):
    """What the CLI, `staso status` and the worker's sync use of a target's installer."""

    DISPLAY: str
    SCOPES: tuple[str, ...]
    InstallError: type[Exception]

    def setup_target(
        self, scope: str, binary: str | None = None, auto_sync: bool | None = None
    ) -> list[str]: ...
    def status_lines(
        self, scope: str | None = None, binary: str | None = None
    ) -> tuple[list[tuple[str, str]], list[str], dict[str, Any]]: ...
    def resync(self, auto_sync: bool | None = None) -> str | None: ...
    def uninstall(self) -> list[str]: ...
    def load_record(self) -> dict[str, Any]: ...
    def sync_if_needed(self) -> bool: ...
    def files_touched(self, scope: str) -> list[Path]: ...


def get(target: str) -> Installer:
    try:
        module = importlib.import_module(INSTALLERS[target])
    except KeyError:
        raise KeyError(f"unknown target {target!r}; known: {', '.join(NAMES)}") from None
    return getattr(module, "INSTALLER", module)


def installed() -> list[str]:
    """Targets set up on this machine (they have an install record)."""
    return [name for name in NAMES if get(name).load_record()]
