"""`staso traces`: show the traces the local collector stored."""

from __future__ import annotations

import json

import click


@click.command()
@click.option("--session", help="Only the turns of this session id.")
@click.option("--last", default=5, show_default=True, help="How many traces (turns).")
@click.option("--json", "as_json", is_flag=True, help="Spans as JSON, one trace per line.")
def command(session: str | None, last: int, as_json: bool) -> None:
    """Render stored traces as trees: each turn with its model and tool calls.

    \b
    Examples:
      staso traces --last 3
      staso traces --session 01a20a6c-a0fe-7aa0-b7ee-3fc18ef38ae4
      staso traces --json | jq .
    """
    from staso_otel import paths

    if not paths.store_file().exists():
        raise click.ClickException("no local traces yet: run `staso collector` or `staso demo`")
    from rich.console import Console

    from staso_otel.local import viewer
    from staso_otel.local.store import Store

    store = Store()
    traces = [store.trace(t) for t in store.trace_ids(session=session, last=last)]
    if not traces:
        raise click.ClickException("no traces match" + (f" session {session}" if session else ""))
    if as_json:
        for spans in traces:
            click.echo(json.dumps(spans))
        return
    viewer.render(Console(), traces)
