"""Install, check and remove staso's Claude Code hooks in a settings.json. [targets/claude_code]

Claude Code reads hooks from the `hooks` key of its settings files, with no trust step:
- global:  $CLAUDE_CONFIG_DIR/settings.json (default ~/.claude/settings.json)
- project: <project>/.claude/settings.json (checked in, shared with the team)
- local:   <project>/.claude/settings.local.json (this machine only, git-ignored)

Only our handlers are touched (`hookfile.is_ours`: the command ends with the hook script,
or an earlier release's `-m staso_otel.hook`, then `claude-code`);
every other key of the user's settings is kept, in order, with its indent. What setup did
(which file, whether it created the file or the `hooks` key) is recorded in
STASO_HOME/install/claude-code.json, so uninstall leaves the file as it found it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from staso_otel.targets.claude_code import events
from staso_otel.targets.settings_install import (
    InstallError,
    Plan,
    SettingsAgent,
    SettingsInstaller,
)

TARGET = "claude-code"
EVENTS = events.ALL
SCOPES = ("global", "project", "local")
HOOK_TIMEOUT_S = 30
TOOL_EVENTS = frozenset(
    {
        events.PRE_TOOL_USE,
        events.PERMISSION_REQUEST,
        events.PERMISSION_DENIED,
        events.POST_TOOL_USE,
        events.POST_TOOL_USE_FAILURE,
    }
)


def config_dir() -> Path:
    """Claude Code's own folder: CLAUDE_CONFIG_DIR, as Claude Code itself honours it."""
    value = os.environ.get("CLAUDE_CONFIG_DIR")
    return Path(value).expanduser() if value else Path.home() / ".claude"


def settings_file(scope: str, project: Path | None = None) -> Path:
    if scope not in SCOPES:
        raise InstallError(f"unknown scope {scope!r}; use one of {', '.join(SCOPES)}")
    if scope == "global":
        return config_dir() / "settings.json"
    folder = (project or Path.cwd()).resolve() / ".claude"
    return folder / ("settings.json" if scope == "project" else "settings.local.json")


def _matcher(event: str) -> str | None:
    return "*" if event in TOOL_EVENTS else None


def _timeout(_event: str) -> int:
    return HOOK_TIMEOUT_S


def _notes(data: dict[str, Any], p: Plan) -> list[str]:
    notes = []
    if data.get("disableAllHooks") is True:
        notes.append(f"{p.settings_file} sets disableAllHooks: no hook runs until it is removed")
    if p.scope == "local":
        notes.append("settings.local.json is for this machine only; keep it out of git")
    return notes


def _layers(p: Plan) -> set[Path]:
    """Every settings file Claude Code reads for the plan's folder (any scope's switch wins
    over ours)."""
    project = p.settings_file.parent.parent if p.scope != "global" else Path.cwd()
    scopes = (settings_file("global"), settings_file("project", project))
    return {*scopes, settings_file("local", project)}


def _hooks_disabled(data: dict[str, Any], path: Path) -> list[str]:
    if data.get("disableAllHooks") is True:
        return [f"{path} sets disableAllHooks: true; remove it or Claude Code runs none"]
    return []


INSTALLER = SettingsInstaller(
    SettingsAgent(
        target=TARGET,
        display="Claude Code",
        binary="claude",
        npm_package="@anthropic-ai/claude-code",
        events=EVENTS,
        scopes=SCOPES,
        settings_file=settings_file,
        timeout_for=_timeout,
        matcher_for=_matcher,
        trust=lambda _p: "not needed (Claude Code runs settings hooks as written)",
        layers=_layers,
        switched_off=_hooks_disabled,
        install_notes=_notes,
    )
)
