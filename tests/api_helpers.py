"""The library configured to keep its spans in memory, for tests that read them back."""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import staso_otel


def configure_in_memory(**settings: Any) -> InMemorySpanExporter:
    """`staso_otel.configure(**settings)` exporting into memory, on a provider of its own.

    The endpoint is a closed loopback port: nothing leaves the machine, and no key is
    asked for. The caller undoes it with `staso_otel.api.config.reset()`.
    """
    exporter = InMemorySpanExporter()
    staso_otel.configure(
        exporter=exporter,
        endpoint="http://127.0.0.1:9",
        tracer_provider=TracerProvider(),
        **settings,
    )
    return exporter


def span_ids(span: ReadableSpan) -> dict[str, Any]:
    """The ids and times of a finished span, as the builders in `span/build.py` take them."""
    return dict(
        trace_id=span.context.trace_id,
        span_id=span.context.span_id,
        parent_span_id=span.parent.span_id if span.parent else None,
        start_ns=span.start_time,
        end_ns=span.end_time,
    )
