"""`staso update`: upgrade the package with this interpreter's pip, then sync."""

from __future__ import annotations

import subprocess
import sys

import click


def run_pip(args: list[str]) -> int:
    return subprocess.call([sys.executable, "-m", "pip", *args])


@click.command()
@click.option("--pip-args", default="", help="Extra arguments for pip, e.g. '--pre'.")
def command(pip_args: str) -> None:
    """Upgrade staso, then re-sync the hooks (their interpreter path and trust).

    \b
    Example:
      staso update
    """
    if run_pip(["install", "--upgrade", "staso", *pip_args.split()]) != 0:
        raise click.ClickException("pip could not upgrade staso (see its output above)")
    from staso_otel.targets import installers

    # a fresh interpreter, so the new version's code writes the entries
    sync = [sys.executable, "-m", "staso_cli.entry", "sync"]
    if installers.installed() and subprocess.call(sync) != 0:
        raise click.ClickException("upgraded, but `staso sync` failed: run it by hand")
    click.echo("staso is up to date")
