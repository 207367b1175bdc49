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
@click.option("--claude-bin", help="The claude executable (default: claude on PATH).")
@click.option("--gemini-bin", help="The gemini executable (default: gemini on PATH).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def command(
    target: str | None,
    scope: str | None,
    profile: str | None,
    codex_bin: str | None,
    claude_bin: str | None,
    gemini_bin: str | None,
    as_json: bool,
) -> None:
    """Check the installation end to end; exit 1 when tracing would not work.

    Codex skips untrusted hooks without a word, so for Codex this checks what Codex
    checks: the entries, their trust hashes, the feature flag. For Claude Code: the
    entries in the settings file and that no settings file disables all hooks; for
    Gemini CLI, the entries and hooksConfig. Then for each: the endpoint, the spool
    backlog and the last export.

    \b
    Examples:
      staso status                       # every agent set up here
      staso status --target claude-code
    """
    from staso_otel.status import gather
    from staso_otel.targets import installers

    names = [target] if target else (installers.installed() or ["codex"])
    reports = [
        gather(
            scope=scope,
            profile=profile,
            target=name,
            binary={"codex": codex_bin, "claude-code": claude_bin, "gemini": gemini_bin}[name],
        )
        for name in names
    ]
    if as_json:
        typed = [{k: v for k, v in report.items() if k != "lines"} for report in reports]
        click.echo(json.dumps(typed if len(typed) > 1 else typed[0], indent=2, default=str))
    else:
        for report in reports:
            for label, value in report["lines"]:
                click.echo(f"{label:<14} {value}")
            for problem in report["problems"]:
                click.echo(f"problem: {problem}")
            if not report["problems"]:
                click.echo(
                    f"ok: {report['agent']} will run the staso hooks and spans reach the endpoint"
                )
    if any(report["problems"] for report in reports):
        raise SystemExit(1)
