"""`staso collector`: a local OTLP/HTTP receiver that stores spans and prints turns."""

from __future__ import annotations

import click


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=4318,
    show_default=True,
    help="Port (4318 is OTLP/HTTP's).",
)
def command(host: str, port: int) -> None:
    """Receive spans from staso or any OpenTelemetry SDK and keep them locally.

    Stores them in ~/.staso/local/traces.sqlite (read them with `staso traces`) and
    prints each turn as it completes. Ctrl-C stops it.

    \b
    Examples:
      staso collector
      staso setup --target codex --local        # send Codex's spans here
      OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 python my_agent.py
    """
    from staso_otel.local.collector import Collector
    from staso_otel.local.store import Store
    from staso_otel.local.viewer import summary_line

    try:
        collector = Collector(
            Store(), host, port, on_turn=lambda span: click.echo(summary_line(span))
        )
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    click.echo(f"listening on {collector.endpoint} (Ctrl-C to stop)")
    try:
        collector.serve_forever()
    except KeyboardInterrupt:
        click.echo("stopped")
