"""`staso import`: trace past sessions from the agents' own transcripts."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path

import click
from staso_cli.options import TARGETS, profile_option


@click.command()
@click.option("--target", type=click.Choice(TARGETS), help="Only this agent (default: both).")
@click.option(
    "--since",
    type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"]),
    help="Only turns started at or after this local date/time.",
)
@click.option("--session", "session_id", help="Only this session id.")
@click.option("--endpoint", help="Send to this OTLP/HTTP endpoint instead of the configured one.")
@click.option("--local", is_flag=True, help="Store in the local collector store (`staso traces`).")
@click.option("--dry-run", is_flag=True, help="Rebuild and count, send nothing, remember nothing.")
@click.option("--json", "as_json", is_flag=True, help="The report as one JSON object.")
@profile_option
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
def command(
    target: str | None,
    since: datetime | None,
    session_id: str | None,
    endpoint: str | None,
    local: bool,
    dry_run: bool,
    as_json: bool,
    profile: str | None,
    paths: tuple[Path, ...],
) -> None:
    """Trace sessions that ran before staso was set up, or without its hooks.

    Reads Codex rollouts ($CODEX_HOME/sessions, default ~/.codex) and Claude Code
    transcripts ($CLAUDE_CONFIG_DIR/projects, default ~/.claude) with their sub-agents,
    or the PATHs given, rebuilds every turn with the ids live tracing gives it, and sends
    it through the same redaction, spool and exporter. Turns exported before (live or by
    an earlier import) are skipped. Exit 1 if a file, line or session was skipped.

    \b
    Examples:
      staso import --dry-run
      staso import --target codex --since 2026-11-01
      staso import --local && staso traces --last 3
      staso import ~/.claude/projects/-home-me-app/SESSION.jsonl --endpoint http://localhost:4318
    """
    from staso_otel import settings as settings_mod
    from staso_otel.backfill import run, sources

    if endpoint and local:
        raise click.UsageError("--endpoint and --local cannot be combined")
    if target is not None and target not in sources.TARGETS:
        raise click.UsageError(
            f"staso import reads {' and '.join(sources.TARGETS)} sessions, not {target}"
        )
    targets = [target] if target else list(sources.TARGETS)
    since_ns = int(since.timestamp() * 1e9) if since else 0
    collector = None
    try:
        configured = settings_mod.load(profile)
        if local:
            collector = _local_collector()
            endpoint = collector.endpoint
        settings = settings_mod.load(profile, {"endpoint": endpoint}) if endpoint else configured
        if not dry_run:
            settings.require_key()
            _reachable(settings.endpoint)
        home = run.destination_home(settings.endpoint, configured.endpoint, local=local)
        found = sources.find(targets, list(paths) or None, session=session_id, since_ns=since_ns)
        show = _Progress(found, as_json)
        with show:
            report = run.run(
                found,
                settings=settings,
                home=home,
                dry_run=dry_run,
                since_ns=since_ns,
                progress=show.update,
            )
    except settings_mod.SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:  # e.g. a symlink planted in STASO_HOME: refused, one line
        raise click.ClickException(f"cannot import: {exc}") from None
    finally:
        if collector is not None:
            collector.stop()
    if as_json:
        click.echo(json.dumps({**report.to_dict(), "endpoint": settings.endpoint}))
    else:
        _summary(report, settings.endpoint, dry_run)
    if report.skipped or report.errors or report.spans_left:
        raise SystemExit(1)


def _local_collector():
    from staso_otel.local.collector import Collector
    from staso_otel.local.store import Store

    return Collector(Store(), port=0).start()


def _reachable(endpoint: str) -> None:
    from staso_otel.status import endpoint_reachable

    refused = endpoint_reachable(endpoint)
    if refused is not None:  # spooled spans would wait, and a long import overflow the spool
        raise click.ClickException(
            f"cannot reach {endpoint} ({refused}): nothing imported; start the collector, "
            "or use --local or --dry-run"
        )


def _summary(report, endpoint: str, dry_run: bool) -> None:
    verb = "would send" if dry_run else f"sent {report.spans_sent} of"
    click.echo(
        f"{report.sessions} sessions, {report.turns} turns, {verb} {report.spans} spans"
        f" ({_mb(report.bytes_read)} read); {report.already} turns exported before, skipped"
        + ("" if dry_run else f"; to {endpoint}")
    )
    if report.spans_left:
        click.echo(f"{report.spans_left} spans left in the spool: " + "; ".join(report.errors))
    for item in report.skipped:
        click.echo(f"skipped {item['path']}: {item['why']}", err=True)


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


class _Progress:
    """A progress bar on a terminal; one line of counts per session when piped."""

    def __init__(self, found, quiet: bool) -> None:
        self.quiet = quiet
        self.total = sum(s.size for s in found.sessions)
        self.bar = None
        if quiet:
            return  # --json: no terminal output, and no rich to import for it
        from staso_otel.local import viewer

        console = viewer.console()
        if console.is_terminal:
            from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

            self.bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(),
                console=console,
                transient=True,
            )
            self.task = self.bar.add_task("importing", total=self.total)

    def __enter__(self) -> _Progress:
        if self.bar is not None:
            self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    def update(self, report, session) -> None:
        line = (
            f"{report.sessions} sessions, {report.turns} turns, {report.spans} spans, "
            f"{_mb(report.bytes_read)} read, {len(report.skipped)} skipped"
        )
        if self.bar is not None:
            self.bar.update(self.task, completed=report.bytes_read, description=line)
        elif not self.quiet:
            print(f"{session.target} {session.session_id}: {line}", file=sys.stderr, flush=True)
