"""`staso uninstall`: remove exactly what setup added, after one last export."""

from __future__ import annotations

import contextlib
import io
import json
import shutil

import click
from staso_cli.options import target_option


@click.command()
@target_option()
@click.option("--keep-data", is_flag=True, help="Keep journals, state and spool.")
@click.option(
    "--purge",
    is_flag=True,
    help="Also remove the API key, settings, logs and local traces: all of STASO_HOME.",
)
@click.option("--json", "as_json", is_flag=True, help="What was removed, as one JSON object.")
def command(target: str, keep_data: bool, purge: bool, as_json: bool) -> None:
    """Remove staso's hook entries (and for Codex its trust entries and flag change).

    Everything else in hooks.json, config.toml or settings.json stays as it was.
    Before deleting staso's state and spool, one last flush tries to send what is
    left; they are kept while another agent is still traced.

    \b
    Examples:
      staso uninstall --target codex
      staso uninstall --target claude-code
      staso uninstall --target codex --purge   # and the key, settings, logs: everything
    """
    if not as_json:
        _uninstall(target, keep_data, purge)
        return
    said = io.StringIO()
    with contextlib.redirect_stdout(said):  # the same steps; their lines go into the JSON
        was_set_up, removed = _uninstall(target, keep_data, purge)
    report = {
        "target": target,
        "was_set_up": was_set_up,
        "removed": removed,
        "messages": said.getvalue().splitlines(),
    }
    click.echo(json.dumps(report))


def _uninstall(target: str, keep_data: bool, purge: bool) -> tuple[bool, list[str]]:
    """(whether it was set up, what was removed from the agent's files)."""
    from staso_otel import paths
    from staso_otel.targets import installers

    install = installers.get(target)
    others = [installers.get(n).DISPLAY for n in installers.installed() if n != target]
    if purge and (others or keep_data):
        # checked before anything changes: a failed command leaves every file as it was
        why = f"{', '.join(others)} is still traced" if others else "it contradicts --keep-data"
        raise click.ClickException(f"--purge removes all of STASO_HOME, but {why}")

    was_set_up = bool(install.load_record())
    try:
        done = install.uninstall()
    except install.InstallError as exc:
        raise click.ClickException(str(exc)) from None
    if not was_set_up and not done and not purge:
        # a last flush here would create a lock and a log for nothing (--purge still
        # goes on: it is how the key a plain uninstall left is removed)
        click.echo(f"staso is not set up for {install.DISPLAY}: nothing to remove")
        return False, done
    for line in done:
        click.echo(line)
    if purge:
        _purge()
    elif others and not keep_data:
        click.echo(f"kept staso's journals, state and spool: {', '.join(others)} is still traced")
    elif not keep_data:
        left = _last_flush()
        for folder in (paths.journal_dir(), paths.state_dir(), paths.spool_dir()):
            shutil.rmtree(folder, ignore_errors=True)
        click.echo(
            "deleted staso's journals, state and spool"
            + (f" ({left} unsent spans dropped)" if left else "")
        )
    if not purge:
        _name_what_is_left()
    click.echo(f"staso no longer traces {install.DISPLAY}")
    return was_set_up, done


def _purge() -> None:
    """One last flush, then STASO_HOME goes; only the entries staso made, so a
    STASO_HOME pointed at a folder of the user's own loses nothing else."""
    from staso_otel import paths

    left = _last_flush()
    home = paths.staso_home()
    for entry in sorted(home.iterdir()) if home.is_dir() else ():
        leftover_tmp = entry.name.startswith(".") and entry.name.endswith(".tmp")  # atomic_write
        if entry.name in paths.HOME_ENTRIES or leftover_tmp:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
    kept = list(home.iterdir()) if home.is_dir() else []
    if not kept:
        with contextlib.suppress(OSError):
            home.rmdir()
    click.echo(
        f"removed {home}: API key, settings, journals, state, spool, logs and local traces"
        + (f" ({left} unsent spans dropped)" if left else "")
        + (f"; kept {len(kept)} entries staso did not make" if kept else "")
    )


def _name_what_is_left() -> None:
    """The key stays on disk after a plain uninstall: say where, and how to remove it."""
    from staso_otel import paths

    kept = [p for p in (paths.credentials_file(), paths.settings_file()) if p.exists()]
    if kept:
        click.echo(
            f"kept {' and '.join(str(p) for p in kept)} (your API key and settings); "
            "`staso uninstall --target <agent> --purge` removes them and all of STASO_HOME"
        )


def _last_flush() -> int:
    from staso_otel.pipeline import worker

    try:
        return worker.drain(lock_timeout_s=5).spans_left
    except Exception:
        return 0
