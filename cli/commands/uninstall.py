"""`staso uninstall`: remove exactly what setup added, after one last export."""

from __future__ import annotations

import shutil

import click
from staso_cli.options import target_option


@click.command()
@target_option()
@click.option("--keep-data", is_flag=True, help="Keep journals, state and spool.")
def command(target: str, keep_data: bool) -> None:
    """Remove staso's hook entries (and for Codex its trust entries and flag change).

    Everything else in hooks.json, config.toml or settings.json stays as it was.
    Before deleting staso's state and spool, one last flush tries to send what is
    left; they are kept while another agent is still traced.

    \b
    Examples:
      staso uninstall --target codex
      staso uninstall --target claude-code
    """
    from staso_otel import paths
    from staso_otel.targets import installers

    install = installers.get(target)

    was_set_up = bool(install.load_record())
    try:
        done = install.uninstall()
    except install.InstallError as exc:
        raise click.ClickException(str(exc)) from None
    if not was_set_up and not done:
        # a last flush here would create a lock and a log for nothing
        click.echo(f"staso is not set up for {install.DISPLAY}: nothing to remove")
        return
    for line in done:
        click.echo(line)
    others = [installers.get(n).DISPLAY for n in installers.installed() if n != target]
    if others and not keep_data:
        click.echo(f"kept staso's journals, state and spool: {', '.join(others)} is still traced")
    elif not keep_data:
        left = _last_flush()
        for folder in (paths.journal_dir(), paths.state_dir(), paths.spool_dir()):
            shutil.rmtree(folder, ignore_errors=True)
        click.echo(
            "deleted staso's journals, state and spool"
            + (f" ({left} unsent spans dropped)" if left else "")
        )
    click.echo(f"staso no longer traces {install.DISPLAY}")


def _last_flush() -> int:
    from staso_otel.export import worker

    try:
        return worker.drain(lock_timeout_s=5).spans_left
    except Exception:
        return 0
