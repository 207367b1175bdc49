"""`staso flush`: process everything recorded so far and export it before returning."""

from __future__ import annotations

import click


@click.command()
@click.option("--profile", help="Settings profile to export with (default: the default profile).")
@click.option("--no-parked", is_flag=True, help="Leave batches the backend rejected parked.")
def command(profile: str | None, no_parked: bool) -> None:
    """Export every recorded event now and report what was sent and what is left.

    Hooks only record; a background worker exports. `flush` runs that work in the
    foreground, retries batches that failed before (including ones the backend
    rejected, e.g. after you fixed a key), and tells you what is still waiting.

    \b
    Examples:
      staso flush
      STASO_ENDPOINT=http://localhost:4318 staso flush
    """
    from staso_otel import settings as settings_mod
    from staso_otel.export import losses, worker

    try:
        settings = settings_mod.load(profile)
        settings.require_key()
        report = worker.drain(settings=settings, include_parked=not no_parked)
    except settings_mod.SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:  # e.g. a symlink planted in STASO_HOME: refused, one line
        raise click.ClickException(f"cannot flush: {exc}") from None
    line = f"sent {report.spans_sent} spans from {report.records} new records"
    if report.spans_left or report.parked_spans:
        reason = "; ".join(report.errors) or "not yet accepted"
        line += (
            f"; {report.spans_left} spans left in spool ({report.parked_spans} parked) — {reason}"
        )
    else:
        line += "; spool empty"
    click.echo(line)
    lost = losses.summary(report.losses)
    if lost:
        click.echo("since the last flush: " + "; ".join(lost) + " (details in the staso log)")
        losses.acknowledge()  # reported: count afresh from here
    if report.spans_left or report.parked_spans or losses.any_lost(report.losses):
        raise SystemExit(1)
