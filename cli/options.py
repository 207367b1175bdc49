"""Option bundles shared by several commands (as llm's `tool_options`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

TARGETS = ["codex"]


def target_option(required: bool = True) -> Callable[[Any], Any]:
    return click.option(
        "--target",
        type=click.Choice(TARGETS),
        required=required,
        default=None if required else "codex",
        show_default=not required,
        help="The coding agent to trace.",
    )


def scope_option(f: Any) -> Any:
    return click.option(
        "--scope",
        type=click.Choice(["global", "project"]),
        default=None,
        help="global: $CODEX_HOME/hooks.json; project: ./.codex/hooks.json "
        "(Codex loads it only for a trusted project).",
    )(f)


def profile_option(f: Any) -> Any:
    return click.option("--profile", default=None, help="Settings profile (default: default).")(f)
