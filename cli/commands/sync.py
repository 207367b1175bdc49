"""`staso sync`: make the hook entries and their trust match what is installed now."""

from __future__ import annotations

import click


@click.command()
@click.option(
    "--enable-auto-sync",
    "auto",
    flag_value=True,
    default=None,
    help="Also re-sync by itself after every staso upgrade.",
)
@click.option("--disable-auto-sync", "auto", flag_value=False, help="Stop doing that.")
def command(auto: bool | None) -> None:
    """Rewrite staso's hook entries for the installed Codex and interpreter.

    Run it after upgrading Codex or moving staso to another Python: Codex only runs
    hooks whose trust hash matches, and a new interpreter path changes the hash.

    \b
    Examples:
      staso sync
      staso sync --enable-auto-sync
    """
    from pathlib import Path

    from staso_otel.targets.codex import install

    record = install.load_record()
    if not record:
        raise click.ClickException(
            "staso is not set up for Codex: run `staso setup --target codex`"
        )
    scope = record.get("scope", "global")
    project = Path(record["hooks_file"]).parent.parent if scope == "project" else None
    try:
        plan = install.install(install.plan(scope, project), auto_sync=auto)
    except install.InstallError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"synced {len(plan.events)} hook events in {plan.hooks_file}")
    if auto is not None:
        click.echo(f"auto-sync {'on' if auto else 'off'}")
