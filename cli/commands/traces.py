"""`staso traces`: show the traces the local collector stored."""

from __future__ import annotations

import json

import click
from staso_cli.options import TARGETS


@click.command()
@click.option("--session", help="Only the turns of this session id.")
@click.option("--agent", type=click.Choice(TARGETS), help="Only this agent's turns.")
@click.option("--errors", is_flag=True, help="Only turns with a failed span.")
@click.option(
    "--last",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="How many turns, the most recent (each trace is one whole turn).",
)
@click.option("--full", is_flag=True, help="Show all content: no line or length cut.")
@click.option("--json", "as_json", is_flag=True, help="Spans as JSON, one trace per line.")
def command(
    session: str | None, agent: str | None, errors: bool, last: int, full: bool, as_json: bool
) -> None:
    """Render stored traces as trees: each turn with its model and tool calls.

    Turns are grouped by session (in the order the sessions started), then in time order.

    \b
    Examples:
      staso traces --last 3
      staso traces --session 01a20a6c-a0fe-7aa0-b7ee-3fc18ef38ae4 --full
      staso traces --agent claude-code --errors
      staso traces --json | jq .
    """
    from staso_otel import paths

    if not paths.store_file().exists():
        raise click.ClickException("no local traces yet: run `staso collector` or `staso demo`")
    from staso_otel.local import viewer
    from staso_otel.local.store import Store

    store = Store()
    ids = store.trace_ids(session=session, last=last, agent=agent, errors=errors)
    traces = [store.trace(t) for t in ids]
    if not traces:
        asked = [
            f"session {session}" if session else "",
            f"agent {agent}" if agent else "",
            "with errors" if errors else "",
        ]
        raise click.ClickException(" ".join(["no traces match", *filter(None, asked)]).strip())
    if as_json:
        for spans in traces:
            click.echo(json.dumps(spans))
        return
    viewer.render(viewer.console(), traces, viewer.FULL if full else viewer.CUT)
