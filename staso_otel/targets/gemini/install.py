"""Install, check and remove staso's Gemini CLI hooks in a settings.json. [targets/gemini]

Gemini CLI reads hooks from the `hooks` key of its settings files, merged over layers:
- global:  ~/.gemini/settings.json (the home is $GEMINI_CLI_HOME when set, as the CLI has it)
- project: <project>/.gemini/settings.json (checked in; runs only in a trusted folder,
  and the CLI warns once per changed hook before running it)
Hooks are on unless `hooksConfig.enabled` is false; a handler named in
`hooksConfig.disabled` is skipped. Each handler's timeout is in milliseconds.

Only our handlers are touched (`hookfile.is_ours`); every other key of the user's settings
is kept, in order, with its indent. What setup did (which file, whether it created the
file or the `hooks` key) is recorded in STASO_HOME/install/gemini.json, so uninstall
leaves the file as it found it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from staso_otel.targets import hookfile
from staso_otel.targets.gemini import events
from staso_otel.targets.settings_install import (
    InstallError,
    Plan,
    SettingsAgent,
    SettingsInstaller,
)

TARGET = "gemini"
EVENTS = events.ALL
SCOPES = ("global", "project")
HANDLER_NAME = "staso"  # what /hooks shows, and what hooksConfig.disabled would name
HOOK_TIMEOUT_MS = 30_000


def gemini_home() -> Path:
    """The folder holding `.gemini`: GEMINI_CLI_HOME, as Gemini CLI itself honours it."""
    value = os.environ.get("GEMINI_CLI_HOME")
    return Path(value).expanduser() if value else Path.home()


def settings_file(scope: str, project: Path | None = None) -> Path:
    if scope not in SCOPES:
        raise InstallError(f"unknown scope {scope!r}; use one of {', '.join(SCOPES)}")
    if scope == "global":
        return gemini_home() / ".gemini" / "settings.json"
    return (project or Path.cwd()).resolve() / ".gemini" / "settings.json"


def _timeout(_event: str) -> int:
    return HOOK_TIMEOUT_MS


def _switched_off(data: dict[str, Any], path: Path) -> list[str]:
    """Why the CLI would skip our hooks by this file's own settings."""
    config = data.get("hooksConfig")
    config = config if isinstance(config, dict) else {}
    out = []
    if config.get("enabled") is False:
        out.append(f"{path} sets hooksConfig.enabled: false; no hook runs until it is true")
    disabled = config.get("disabled")
    if isinstance(disabled, list) and {HANDLER_NAME, hookfile.hook_command(TARGET)} & set(
        map(str, disabled)
    ):
        out.append(f"{path} lists staso's hook in hooksConfig.disabled; remove it")
    return out


def _notes(data: dict[str, Any], p: Plan) -> list[str]:
    notes = _switched_off(data, p.settings_file)
    if p.scope == "project":
        notes.append(
            "project hooks run only in a trusted folder; Gemini CLI warns once before the first run"
        )
    return notes


def _layers(p: Plan) -> set[Path]:
    """The settings files Gemini CLI merges for the plan: the user's and the plan's own."""
    return {settings_file("global"), p.settings_file}


def _trust(p: Plan) -> str:
    trust = "user hooks: none needed" if p.scope == "global" else "a trusted folder"
    return f"{trust} (headless runs in an untrusted folder need --skip-trust)"


INSTALLER = SettingsInstaller(
    SettingsAgent(
        target=TARGET,
        display="Gemini CLI",
        binary="gemini",
        npm_package="@google/gemini-cli",
        events=EVENTS,
        scopes=SCOPES,
        settings_file=settings_file,
        timeout_for=_timeout,
        handler_name=HANDLER_NAME,
        trust=_trust,
        layers=_layers,
        switched_off=_switched_off,
        install_notes=_notes,
        version_timeout_s=60,
    )
)
