"""`staso_otel.configure()`: wire the library API to a TracerProvider, once. [api]

Same settings, profiles and precedence as the CLI. The application's own provider is
respected: pass it, or set it globally before configuring, and staso adds its processor
to it instead of replacing it; a new provider is made (and set globally) only when there
is none. On the application's provider staso exports only its turns and what runs inside
them (`export_all=True` for everything), under staso's resource merged over the
application's (api/nested.py). `durable=True` routes finished spans through the hooks'
spool and worker, so a process that exits right after its last turn, or a collector that
is down, loses nothing.
"""

from __future__ import annotations

import atexit
import threading
from dataclasses import dataclass, field

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
)

from staso_otel import __version__, log, paths
from staso_otel import settings as settings_mod
from staso_otel.api.nested import STASO_SCOPE, TurnProcessor
from staso_otel.span.redact import Memo

DEFAULT_AGENT = "agent"
# The redaction memo of a long-lived application: a quarter of the worker's, which lives
# only as long as a backlog
LIBRARY_MEMO_CHARS = 1_000_000


@dataclass
class Tracing:
    """One configured instance: the tracer plus the few settings the span scopes read."""

    tracer: trace.Tracer
    agent: str = DEFAULT_AGENT
    provider_name: str | None = None
    capture_content: bool = True
    max_attribute_bytes: int = 16384
    tracer_provider: trace.TracerProvider | None = None
    processors: list[SpanProcessor] = field(default_factory=list)
    # texts redacted before: the agent, model and tool names, ids and the conventions'
    # values recur on every span and a turn's content across its spans (span/redact.py)
    memo: Memo = field(default_factory=lambda: Memo(budget=LIBRARY_MEMO_CHARS))


class SpoolSpanProcessor(SpanProcessor):
    """Durable mode: finished spans go to the on-disk spool the hook worker drains.

    Spans of a trace are buffered until its root ends (one batch per turn), then written
    synchronously and a worker is started; `shutdown`/`force_flush` write what is left.
    """

    def __init__(self, agent: str, max_spans: int = 256) -> None:
        from staso_otel.export.spool import Spool

        self._spool = Spool(max_bytes=settings_mod.load().spool_max_bytes)
        self._agent = agent
        self._pending: list[ReadableSpan] = []
        self._lock = threading.Lock()
        self._max = max_spans

    def on_end(self, span: ReadableSpan) -> None:
        with self._lock:
            self._pending.append(span)
            if span.parent is None or len(self._pending) >= self._max:
                self._write_locked()

    def _write_locked(self) -> None:
        from staso_otel.export.otlp import from_readable
        from staso_otel.hook import spawn

        if not self._pending:
            return
        try:
            first = self._pending[0].get_span_context()
            name = f"api.{self._agent}.{first.trace_id:032x}.{first.span_id:016x}"
            self._spool.write(name, [from_readable(s, self._agent) for s in self._pending])
            self._pending = []
            spawn.ensure_worker(paths.staso_home())
        except Exception:
            log.internal_error("api")

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        with self._lock:
            self._write_locked()
        return True

    def shutdown(self) -> None:
        self.force_flush()


_DEFAULT: Tracing | None = None


def current() -> Tracing:
    """The configured instance, or one over the global provider (a no-op until someone
    configures OpenTelemetry) so instrumented code runs before `configure()` too."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Tracing(tracer=trace.get_tracer(STASO_SCOPE, __version__))
    return _DEFAULT


def configure(
    *,
    agent: str = DEFAULT_AGENT,
    provider: str | None = None,
    profile: str | None = None,
    endpoint: str | None = None,
    api_key: str | None = None,
    service_name: str | None = None,
    capture_content: bool | None = None,
    durable: bool = False,
    tracer_provider: TracerProvider | None = None,
    exporter: SpanExporter | None = None,
    export_all: bool = False,
) -> TracerProvider:
    """Set up tracing for `agent` and return the TracerProvider spans go through.

    `exporter` replaces the OTLP exporter (e.g. InMemorySpanExporter in tests);
    `durable=True` spools spans for the worker instead of exporting in-process.
    On an existing provider only staso's turns and the spans started inside them are
    exported, unless `export_all=True`.
    Raises `settings.SettingsError` for bad settings (one line saying what to fix).
    """
    global _DEFAULT
    overrides = {
        "endpoint": endpoint,
        "api_key": api_key,
        "service_name": service_name,
        "capture_content": capture_content,
    }
    settings = settings_mod.load(profile, overrides)
    if exporter is None and not durable:
        settings.require_key()

    from staso_otel.export.otlp import resource_for

    resource = resource_for(settings, agent)
    applications = True
    if tracer_provider is None:
        existing = trace.get_tracer_provider()
        if isinstance(existing, TracerProvider):
            tracer_provider = existing  # the application's own: add to it, don't replace
        else:
            tracer_provider = TracerProvider(resource=resource)
            trace.set_tracer_provider(tracer_provider)
            applications = False

    if exporter is not None:
        processor: SpanProcessor = SimpleSpanProcessor(exporter)
    elif durable:
        processor = SpoolSpanProcessor(agent)
    else:
        from staso_otel.export.otlp import build_exporter

        processor = BatchSpanProcessor(build_exporter(settings))
    # on the application's provider: only turns, and staso's resource (the provider's is the app's)
    processor = TurnProcessor(
        processor,
        only_turns=applications and not export_all,
        resource=resource if applications else None,
    )
    tracer_provider.add_span_processor(processor)
    if durable:
        atexit.register(processor.force_flush)

    _DEFAULT = Tracing(
        tracer=tracer_provider.get_tracer(STASO_SCOPE, __version__),
        agent=agent,
        provider_name=provider,
        capture_content=bool(settings.capture_content),
        max_attribute_bytes=int(settings.max_attribute_bytes),
        tracer_provider=tracer_provider,
        processors=[processor],
    )
    return tracer_provider


def reset() -> None:
    """Forget the configured instance (tests, re-configuration)."""
    global _DEFAULT
    _DEFAULT = None
