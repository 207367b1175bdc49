"""`staso hook <target>` as a click command, for --help; the console script never gets here
for a real hook call (cli/entry.py routes it to the stdlib hook first)."""

from __future__ import annotations

import click


@click.command(context_settings={"ignore_unknown_options": True})
@click.argument("target", type=click.Choice(["codex", "claude-code", "gemini"]))
def command(target: str) -> None:
    """Record one agent event read on stdin, by hand.

    Prints nothing and exits 0 on any input, so the agent is never disturbed. `staso
    setup` writes the same hook as `<python> -I -S <...>/staso_otel/hook/__main__.py
    <target>` into the agent's hook config: it starts faster than this console script.

    \b
    Example:
      staso hook codex < event.json
    """
    from staso_otel.hook.main import run

    raise SystemExit(run([target]))
