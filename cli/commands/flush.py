"""`staso flush`: process everything recorded so far and export it before returning."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from staso_otel.status import Unreachable


@click.command()
@click.option("--profile", help="Settings profile to export with (default: the default profile).")
@click.option("--no-parked", is_flag=True, help="Leave batches the backend rejected parked.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    default=30.0,
    show_default=True,
    help="Seconds to wait for a background worker that is exporting right now.",
)
@click.option("--json", "as_json", is_flag=True, help="The report as one JSON object.")
def command(profile: str | None, no_parked: bool, timeout: float, as_json: bool) -> None:
    """Export every recorded event now and report what was sent and what is left.

    Hooks only record; a background worker exports. `flush` runs that work in the
    foreground, retries batches that failed before (including ones the backend
    rejected, e.g. after you fixed a key), and tells you what is still waiting.

    \b
    Examples:
      staso flush
      staso flush --timeout 5 --json
      STASO_ENDPOINT=http://localhost:4318 staso flush
    """
    from staso_otel import settings as settings_mod
    from staso_otel.export import losses
    from staso_otel.pipeline import worker
    from staso_otel.status import endpoint_reachable

    try:
        settings = settings_mod.load(profile)
        settings.require_key()
        # Ask the endpoint first: when nothing listens there, waiting for the lock or for
        # the exporter's retries only hides the one fact the user needs.
        refused = endpoint_reachable(settings.endpoint, timeout_s=min(2.0, timeout or 2.0))
        cause = _cause(refused, settings.endpoint)
        with worker.worker_lock(timeout_s=0) as free:
            pass
        if not free:
            click.echo(
                f"waiting up to {timeout:g}s for the background worker (it holds the lock "
                "while it exports)…",
                err=True,
            )
        elif not as_json:
            where = f"sending to {settings.endpoint}…" if cause is None else "spooling…"
            click.echo(where, err=True)
        report = worker.drain(
            settings=settings,
            include_parked=not no_parked,
            lock_timeout_s=timeout,
            send=cause is None,
        )
    except settings_mod.SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:  # e.g. a symlink planted in STASO_HOME: refused, one line
        raise click.ClickException(f"cannot flush: {exc}") from None
    waiting = report.spans_left or report.parked_spans
    if waiting and cause is None:
        cause = "; ".join(report.errors) or "not yet accepted"
    lost = losses.summary(report.losses)
    if as_json:
        click.echo(
            json.dumps(
                {**asdict(report), "endpoint": settings.endpoint, "cause": cause, "lost": lost}
            )
        )
    else:
        line = f"sent {report.spans_sent} spans from {report.records} new records"
        if waiting:
            line += (
                f"; {report.spans_left} spans left in spool ({report.parked_spans} parked)"
                f" — {cause}"
            )
            if refused is not None:
                line += "; start the collector or fix the endpoint, then `staso flush`"
        else:
            line += "; spool empty"
        click.echo(line)
        if lost:
            click.echo("since the last flush: " + "; ".join(lost) + " (details in the staso log)")
    if lost:
        losses.acknowledge()  # reported: count afresh from here
    if waiting or losses.any_lost(report.losses):
        raise SystemExit(1)


def _cause(refused: Unreachable | None, endpoint: str) -> str | None:
    """The reason nothing can be sent, in the user's words, or None when it can."""
    if refused is None:
        return None
    if refused.proxy is not None:  # the proxy the sender goes through: it is what failed
        return f"cannot reach {endpoint} through the proxy {refused.proxy} ({refused.error})"
    if "ConnectionRefused" in refused.error:
        return f"connection refused at {endpoint}"
    return f"cannot reach {endpoint} ({refused.error})"
