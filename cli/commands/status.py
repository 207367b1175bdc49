"""`staso status`: will the agent actually run the hooks, and do spans get out?"""

from __future__ import annotations

import json

import click
from staso_cli.options import profile_option, scope_option, target_option


@click.command()
@target_option(required=False)
@scope_option
@profile_option
@click.option("--codex-bin", help="The codex executable (default: codex on PATH).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def command(
    target: str, scope: str | None, profile: str | None, codex_bin: str | None, as_json: bool
) -> None:
    """Check the installation end to end; exit 1 when tracing would not work.

    Codex skips untrusted hooks without a word, so this checks what Codex checks:
    the entries, their trust hashes, the feature flag; then the endpoint, the spool
    backlog and the last export.

    \b
    Example:
      staso status --target codex
    """
    from staso_otel.status import gather

    report = gather(scope=scope, profile=profile, codex_bin=codex_bin)
    if as_json:
        click.echo(json.dumps(report, indent=2, default=str))
    else:
        for label, value in report["lines"]:
            click.echo(f"{label:<14} {value}")
        for problem in report["problems"]:
            click.echo(f"problem: {problem}")
        if not report["problems"]:
            click.echo("ok: Codex will run the staso hooks and spans reach the endpoint")
    if report["problems"]:
        raise SystemExit(1)
