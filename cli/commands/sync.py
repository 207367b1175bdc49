"""`staso sync`: make the hook entries match what is installed now."""

from __future__ import annotations

import json

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
@click.option("--json", "as_json", is_flag=True, help="What was synced, as one JSON object.")
def command(auto: bool | None, as_json: bool) -> None:
    """Rewrite staso's hook entries for every agent set up here (Codex, Claude Code).

    Run it after upgrading the agent or moving staso to another Python: the entries
    name this interpreter, and Codex only runs hooks whose trust hash matches.

    \b
    Examples:
      staso sync
      staso sync --enable-auto-sync
    """
    from staso_otel.targets import installers

    names = installers.installed()
    if not names:
        raise click.ClickException(
            "staso is not set up for any agent: run `staso setup --target codex` "
            "(or --target claude-code)"
        )
    synced = []
    for name in names:
        install = installers.get(name)
        try:
            synced.append({"target": name, "done": install.resync(auto)})
        except install.InstallError as exc:
            raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps({"synced": synced, "auto_sync": auto}))
        return
    for item in synced:
        click.echo(item["done"])
    if auto is not None:
        click.echo(f"auto-sync {'on' if auto else 'off'}")
