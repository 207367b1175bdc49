"""`staso demo`: recorded real Codex and Claude Code sessions, replayed offline and shown."""

from __future__ import annotations

import click


@click.command()
def command() -> None:
    """See staso work with no agent, no account and no network.

    Replays sessions recorded from the real Codex CLI and Claude Code, run against a
    mock model, through the real hook runtime and export worker into an embedded
    collector on 127.0.0.1, stores them locally and shows them: a
    Codex session (shell commands, a failing one, patches, a plan) and two Claude Code
    sessions (Bash, Write, Edit, a failing command, a resumed session, a background
    sub-agent). The last one is shown as a session that ran without staso's hooks:
    `staso import` rebuilds it from its transcripts, and sends nothing twice of the
    sessions traced live. Nothing is sent to your configured endpoint.

    \b
    Example:
      staso demo && staso traces --last 2
    """
    from staso_otel.local import viewer
    from staso_otel.local.demo_run import run_demo

    try:
        run_demo(viewer.console())
    except Exception as exc:  # one line, not a traceback, for a first-run experience
        raise click.ClickException(f"demo failed: {type(exc).__name__}: {exc}") from None
