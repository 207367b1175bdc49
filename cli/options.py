"""Option bundles shared by several commands (as llm's `tool_options`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from staso_otel.targets.installers import NAMES

TARGETS = list(NAMES)


def target_option(required: bool = True) -> Callable[[Any], Any]:
    return click.option(
        "--target",
        type=click.Choice(TARGETS),
        required=required,
        default=None,
        help="The coding agent: codex, claude-code or gemini"
        + ("." if required else " (default: every agent set up here)."),
    )


def scope_option(f: Any) -> Any:
    return click.option(
        "--scope",
        type=click.Choice(["global", "project", "local"]),
        default=None,
        help="Where the hooks go. Codex: global ($CODEX_HOME/hooks.json) or project "
        "(./.codex/hooks.json, loaded only for a trusted project). Claude Code: global "
        "(~/.claude/settings.json), project (./.claude/settings.json) or local "
        "(./.claude/settings.local.json). Gemini CLI: global (~/.gemini/settings.json) or "
        "project (./.gemini/settings.json, run only in a trusted folder).",
    )(f)


def profile_option(f: Any) -> Any:
    return click.option("--profile", default=None, help="Settings profile (default: default).")(f)
