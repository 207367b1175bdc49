"""`staso uninstall`: remove exactly what setup added, after one last export."""

from __future__ import annotations

import shutil

import click
from staso_cli.options import target_option


@click.command()
@target_option()
@click.option("--keep-data", is_flag=True, help="Keep journals, state and spool.")
def command(target: str, keep_data: bool) -> None:
    """Remove staso's hook entries, trust entries and feature-flag change.

    Everything else in hooks.json and config.toml stays as it was. Before deleting
    staso's state and spool, one last flush tries to send what is left.

    \b
    Example:
      staso uninstall --target codex
    """
    from staso_otel import paths
    from staso_otel.targets.codex import install

    try:
        done = install.uninstall()
    except install.InstallError as exc:
        raise click.ClickException(str(exc)) from None
    for line in done:
        click.echo(line)
    if not keep_data:
        left = _last_flush()
        for folder in (paths.journal_dir(), paths.state_dir(), paths.spool_dir()):
            shutil.rmtree(folder, ignore_errors=True)
        click.echo(
            "deleted staso's journals, state and spool"
            + (f" ({left} unsent spans dropped)" if left else "")
        )
    click.echo("staso no longer traces Codex")


def _last_flush() -> int:
    from staso_otel.export import worker

    try:
        return worker.drain(lock_timeout_s=5).spans_left
    except Exception:
        return 0
