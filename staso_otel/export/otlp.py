"""The worker's sender: SpanData -> OTLP/HTTP, and why an export failed. [export]

`Sender` encodes spans itself (export/encode.py: protobuf or OTLP/JSON straight from
SpanData) and POSTs them over the standard library (export/transport.py): a worker with
spans to send imports neither the SDK, nor protobuf, nor requests (tests/test_layering.py).
It makes one request per call and classifies the answer: "split the batch" (413), "try
later" (408, 429, 5xx, no answer), "rejected" (other 4xx, and 3xx: a redirect delivered
nothing and is never followed), so ONE retry policy (the spool's, which honours
Retry-After and survives the worker exiting) decides what happens next.

The SDK is still here for what is SDK by nature, imported where it is used: the library's
live exporter (`build_exporter`), `to_readable` / `from_readable` for the library and the
console exporter, and any SpanExporter a test or the demo passes in.
"""

from __future__ import annotations

import contextlib
import os
import random
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from staso_otel import __version__, log, paths, semconv
from staso_otel.export import encode
from staso_otel.export.policy import Policy, span_limits
from staso_otel.export.policy import policy as make_policy
from staso_otel.export.transport import Tls, Transport, TransportError
from staso_otel.export.transport import describe_error as describe_error
from staso_otel.settings import Settings
from staso_otel.span.model import SpanData, SpanEvent

if TYPE_CHECKING:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.sdk.trace.export import SpanExporter

    from staso_otel.export.encode import Limits

SCOPE_NAME, SCOPE_VERSION = "staso", __version__
MAX_BACKOFF_S = 128.0
RETRY_AFTER_MAX_S = 3600.0  # a server's Retry-After is honoured up to an hour
# Keep each request far below the SDK's 64 MiB drop limit and typical proxy limits.
MAX_REQUEST_BYTES = 4 * 1024 * 1024
# A request made of several spool batches stops at whichever comes first: 512 spans (the
# SDK BatchSpanProcessor's max_export_batch_size) or 512 KB of estimated content.
# These bound the worker's memory while it sends a backlog (measured with the SDK's
# encoder, which built every span's message at about ten times the content's size:
# draining 200 sessions peaked at 90 MB with 4 MB groups, 45 MB at both caps), and
# requests stay a few per hundred sessions.
MAX_REQUEST_SPANS = 512
MAX_GROUP_BYTES = 512 * 1024

# resource attributes a staso setting gives; a setting the user set from as high a layer
# as the attribute list outranks it (as OTEL_SERVICE_NAME outranks a service.name in
# OTEL_RESOURCE_ATTRIBUTES), from a lower one (the profile) it does not
_SETTING_ATTRS = (
    ("service_name", semconv.SERVICE_NAME),
    ("environment", semconv.DEPLOYMENT_ENVIRONMENT_NAME),
    ("workspace", semconv.STASO_WORKSPACE),
    ("agent_id", semconv.STASO_AGENT_ID),
    ("project_name", semconv.OPENINFERENCE_PROJECT_NAME),
)


def resource_for(settings: Settings, target: str) -> Resource:
    """resource_attributes as the SDK's Resource (the library's TracerProvider)."""
    from opentelemetry.sdk.resources import Resource

    return Resource(resource_attributes(settings, target))


def resource_attributes(settings: Settings, target: str) -> dict[str, Any]:
    """The resource of SPEC.md. What the user gave wins: settings they set, then their
    resource attributes (OTEL_RESOURCE_ATTRIBUTES, ...); staso adds only what is missing."""
    workspace = settings.workspace
    attrs: dict[str, Any] = {
        semconv.SERVICE_NAME: target or "staso",
        semconv.SERVICE_VERSION: __version__,
        semconv.DEPLOYMENT_ENVIRONMENT_NAME: settings.environment,
        semconv.STASO_WORKSPACE: workspace,
        semconv.STASO_AGENT_ID: settings.agent_id or target or "staso",
        semconv.OPENINFERENCE_PROJECT_NAME: settings.project_name or workspace,
        semconv.TELEMETRY_SDK_NAME: "staso",
    }
    attrs.update(settings.resource_attributes)
    given = _layer(settings.source.get("resource_attributes", "default"))
    for name, key in _SETTING_ATTRS:
        layer = _layer(settings.source.get(name, "default"))
        if layer < 4 and layer <= given and settings.values.get(name):
            attrs[key] = settings.values[name]
    return attrs


def _layer(source: str) -> int:
    """flag 0 > STASO_* 1 > OTEL_* 2 > profile 3 > default 4 (settings.py's precedence)."""
    if source in ("flag", "profile", "default"):
        return {"flag": 0, "profile": 3, "default": 4}[source]
    return 2 if source.startswith("OTEL_") else 1


def to_readable(span: SpanData, resource: Resource, limits: Limits | None = None) -> ReadableSpan:
    """The one place a ReadableSpan is built (its docstring says users should not; the
    SDK has no other door for spans finished elsewhere, so it happens here only).
    `limits`: the span limits (OTEL_*_LIMIT), applied as a TracerProvider would."""
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope
    from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

    _SAMPLED = TraceFlags(TraceFlags.SAMPLED)
    context = SpanContext(span.trace_id, span.span_id, is_remote=False, trace_flags=_SAMPLED)
    parent = None
    if span.parent_span_id is not None:
        parent = SpanContext(
            span.trace_id, span.parent_span_id, is_remote=False, trace_flags=_SAMPLED
        )
    code = StatusCode[span.status] if span.status in StatusCode.__members__ else StatusCode.UNSET
    status = Status(code, span.status_description if code is StatusCode.ERROR else None)
    return ReadableSpan(
        name=span.name,
        context=context,
        parent=parent,
        resource=resource,
        attributes=_limited(dict(span.attributes), limits, "span"),
        events=_events(span, limits),
        kind=SpanKind[span.kind] if span.kind in SpanKind.__members__ else SpanKind.INTERNAL,
        status=status,
        start_time=span.start_ns,
        end_time=max(span.end_ns, span.start_ns),
        instrumentation_scope=InstrumentationScope(SCOPE_NAME, SCOPE_VERSION),
    )


def _limited(attrs: dict[str, Any], limits: Limits | None, of: str) -> Any:
    """The SDK's BoundedAttributes, only when a limit bites (it costs a lock per key)."""
    from opentelemetry.attributes import BoundedAttributes

    if limits is None:
        return attrs
    count = limits.max_span_attributes if of == "span" else limits.max_event_attributes
    length = limits.max_span_attribute_length if of == "span" else limits.max_attribute_length
    if length is None and (count is None or len(attrs) <= count):
        return attrs
    return BoundedAttributes(count, attrs, immutable=True, max_value_len=length)


def _events(span: SpanData, limits: Limits | None) -> Any:
    from opentelemetry.sdk.trace import Event
    from opentelemetry.sdk.util import BoundedList

    events = [
        Event(e.name, _limited(dict(e.attributes), limits, "event"), e.time_ns) for e in span.events
    ]
    if limits is None or limits.max_events is None or len(events) <= limits.max_events:
        return events
    return BoundedList.from_seq(limits.max_events, events)


def from_readable(span: ReadableSpan, target: str) -> SpanData:
    """The inverse of to_readable, for spans finished by the live SDK (the library API's
    durable mode spools them like the hooks' spans)."""
    context = span.get_span_context()
    parent = span.parent.span_id if span.parent is not None else None
    return SpanData(
        trace_id=context.trace_id,
        span_id=context.span_id,
        parent_span_id=parent,
        name=span.name,
        kind=span.kind.name,
        start_ns=span.start_time or 0,
        end_ns=span.end_time or span.start_time or 0,
        attributes=dict(span.attributes or {}),
        status=span.status.status_code.name,
        status_description=span.status.description,
        events=tuple(SpanEvent(e.name, e.timestamp, dict(e.attributes or {})) for e in span.events),
        target=target,
    )


@dataclass(frozen=True)
class Outcome:
    """What happened to one export request."""

    kind: str  # "ok" | "retry" | "too_large" | "rejected"
    status_code: int | None = None
    retry_after_s: float | None = None
    detail: str = ""


def classify(status: int | None, delivered: bool) -> str:
    """ok / retry / too_large / rejected, from the HTTP status (None: no answer) and
    whether the exporter counted it delivered."""
    if status is not None and 300 <= status < 400:
        return "rejected"  # the SDK calls a redirect SUCCESS; nothing was delivered
    if delivered:
        return "ok"
    if status == 413:
        return "too_large"
    if status is None or status in (408, 429) or status >= 500:
        return "retry"
    return "rejected"


_ENV_LOCK = threading.Lock()


@contextlib.contextmanager
def _sdk_env_hidden() -> Iterator[None]:
    """Hide OTEL_EXPORTER_OTLP_* from the SDK exporter while it is built.

    The SDK exporter reads them itself at construction (and merges the headers ones into
    whatever it is given), which would undo what settings resolved: a header bound to
    another origin would go along again. Settings already applied each of them where
    it belongs, so the exporter gets everything as arguments and nothing from the env.
    """
    with _ENV_LOCK:
        saved = {k: v for k, v in os.environ.items() if k.startswith("OTEL_EXPORTER_OTLP_")}
        for key in saved:
            del os.environ[key]
        try:
            yield
        finally:
            os.environ.update(saved)


def build_exporter(settings: Settings) -> SpanExporter:
    """The library's live exporter, made from settings (the worker has `Sender`):
    protobuf through the SDK's exporter, JSON through ours; TLS and compression alike."""
    if settings.protocol == "http/json":
        from staso_otel.export.otlp_json import OTLPJsonSpanExporter

        return OTLPJsonSpanExporter(
            settings.endpoint,
            settings.export_headers(),
            settings.export_timeout,
            compression=settings.compression,
            verify=_verify(settings),
            cert=_client_cert(settings),
        )
    import logging

    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    for name in ("opentelemetry.exporter.otlp.proto.http", "opentelemetry.exporter.otlp"):
        logging.getLogger(name).setLevel(logging.CRITICAL)  # nothing here prints

    with _sdk_env_hidden():
        return OTLPSpanExporter(
            endpoint=settings.endpoint,
            certificate_file=settings.certificate,
            client_key_file=settings.client_key,
            client_certificate_file=settings.client_certificate,
            headers=settings.export_headers(),
            timeout=settings.export_timeout,
            compression=Compression(settings.compression),
        )


def _client_cert(settings: Settings) -> str | tuple[str, str] | None:
    """requests' `cert`: (certificate, key), or one PEM holding both, as the SDK passes it."""
    if settings.client_certificate and settings.client_key:
        return (settings.client_certificate, settings.client_key)
    return settings.client_certificate


def console_exporter(path: Path) -> SpanExporter:
    """OTEL_TRACES_EXPORTER=console for a worker with no terminal: the SDK's console
    exporter, one JSON span per line, appended to a private file."""
    from opentelemetry.sdk.trace.export import ConsoleSpanExporter

    paths.ensure_dir(path.parent)
    out = os.fdopen(paths.open_private(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND), "a")
    return ConsoleSpanExporter(out=out, formatter=lambda span: span.to_json(indent=None) + "\n")


def transport_for(settings: Settings, timeout_s: float | None = None) -> Transport:
    """The worker's HTTP transport to the configured endpoint, TLS from settings."""
    tls = Tls(settings.certificate, settings.client_certificate, settings.client_key)
    timeout = settings.export_timeout if timeout_s is None else timeout_s
    return Transport(settings.endpoint, settings.export_headers(), timeout, tls)


class Sender:
    """Exports SpanData and classifies the outcome.

    With no `exporter`, encodes OTLP itself and POSTs it (protobuf or JSON, as the
    protocol setting says). Tests and the demo may pass any SDK SpanExporter (then status
    codes are unknown: FAILURE is treated as retryable).
    """

    def __init__(
        self,
        settings: Settings,
        exporter: SpanExporter | None = None,
        policy: Policy | None = None,
    ) -> None:
        self.settings = settings
        self.policy = policy or make_policy(settings)
        self.limits, note = span_limits()
        if note:
            log.warning("worker", note)
        self.console: SpanExporter | None = None
        if "console" in self.policy.exporters:
            self.console = console_exporter(paths.console_spans_file())
        self.exporter = exporter
        self.transport: Transport | None = None
        if exporter is None and "otlp" in self.policy.exporters:
            self.transport = transport_for(settings)
        self.json = settings.protocol == "http/json"
        self._headers = {"Content-Type": "application/json" if self.json else _PROTOBUF}
        if settings.compression != "none":
            self._headers["Content-Encoding"] = settings.compression
        self._resources: dict[str, encode.Resource] = {}
        self._sdk_resources: dict[str, Resource] = {}
        # the export begun and not finished: (spans, their ReadableSpans, outcome if known)
        self._flight: tuple[Sequence[SpanData], list[ReadableSpan] | None, Outcome | None] | None
        self._flight = None

    def _resource(self, target: str) -> encode.Resource:
        if target not in self._resources:
            self._resources[target] = encode.Resource(resource_attributes(self.settings, target))
        return self._resources[target]

    def _readable(self, spans: Sequence[SpanData]) -> list[ReadableSpan]:
        for s in spans:
            if s.target not in self._sdk_resources:
                self._sdk_resources[s.target] = resource_for(self.settings, s.target)
        return [to_readable(s, self._sdk_resources[s.target], self.limits) for s in spans]

    def send(self, spans: Sequence[SpanData]) -> Outcome:
        self.begin(spans)
        return self.finish()

    def begin(self, spans: Sequence[SpanData]) -> None:
        """Start exporting `spans`; `finish()` gives the outcome, and must come before the
        next `begin`. Over OTLP/HTTP only the request is written here, so the caller works
        while the backend reads and answers; an SDK exporter exports here, whole."""
        assert self._flight is None, "begin() with an export in flight"
        readable = None
        outcome: Outcome | None = None
        if self.transport is not None:
            outcome = self._write(spans)
        elif self.exporter is not None:
            readable = self._readable(spans)
            outcome = self._export(readable)
        else:
            outcome = Outcome("ok")
        self._flight = (spans, readable, outcome)

    def answered(self) -> bool:
        """Whether `finish()` would not wait for the backend."""
        if self._flight is None or self._flight[2] is not None or self.transport is None:
            return True
        return self.transport.answered()

    def finish(self) -> Outcome:
        """The outcome of the export `begin` started (waits for the backend's answer)."""
        assert self._flight is not None, "finish() without an export in flight"
        spans, readable, outcome = self._flight
        self._flight = None
        if outcome is None:
            outcome = self._answer()
        if self.console is not None and outcome.kind == "ok":
            # after the OTLP export, not before: a batch retried is written once
            self.console.export(readable if readable is not None else self._readable(spans))
        return outcome

    def encode(self, spans: Sequence[SpanData]) -> bytes:
        """The request body, uncompressed."""
        how = encode.encode_json if self.json else encode.encode_protobuf
        return how(spans, self._resource, (SCOPE_NAME, SCOPE_VERSION), self.limits)

    def _write(self, spans: Sequence[SpanData]) -> Outcome | None:
        """Write the request; None once written (its answer is read by `_answer`)."""
        assert self.transport is not None
        try:
            body = _compress(self.encode(spans), self.settings.compression)
            self.transport.begin(body, self._headers)
        except TransportError as exc:
            return Outcome("retry", detail=str(exc))
        except Exception as exc:  # a span it cannot encode must not take the worker down
            return Outcome("retry", detail=f"{type(exc).__name__}: {exc}")
        return None

    def _answer(self) -> Outcome:
        assert self.transport is not None
        try:
            answer = self.transport.answer()
        except TransportError as exc:
            return Outcome("retry", detail=str(exc))
        status = answer.status
        kind = classify(status, 200 <= status < 300)
        detail = "" if kind == "ok" else _detail(status, answer.location)
        return Outcome(kind, status, answer.retry_after_s, detail)

    def _export(self, readable: list[ReadableSpan]) -> Outcome:
        assert self.exporter is not None
        from opentelemetry.sdk.trace.export import SpanExportResult

        try:
            result = self.exporter.export(readable)
        except Exception as exc:  # an exporter must not take the worker down
            return Outcome("retry", detail=f"{type(exc).__name__}: {exc}")
        kind = classify(None, result is SpanExportResult.SUCCESS)
        return Outcome(kind, None, None, "" if kind == "ok" else "no response")

    def shutdown(self) -> None:
        self._flight = None  # an answer not read: its batches stay spooled, sent again
        if self.transport is not None:
            self.transport.close()
        for exporter in (self.exporter, self.console):
            if exporter is not None:
                with contextlib.suppress(Exception):
                    exporter.shutdown()


_PROTOBUF = "application/x-protobuf"


def _compress(body: bytes, compression: str) -> bytes:
    if compression == "gzip":
        import gzip

        return gzip.compress(body)
    if compression == "deflate":
        import zlib

        return zlib.compress(body)
    return body


def _detail(status: int, location: str | None) -> str:
    if 300 <= status < 400:
        where = f" to {location}" if location else ""
        return (
            f"HTTP {status} redirect{where} (staso does not follow redirects: "
            "set the endpoint to the URL that accepts the spans)"
        )
    return f"HTTP {status}"


def probe(settings: Settings, timeout_s: float = 3.0) -> str | None:
    """For `staso status` over https: None unless the TLS handshake fails, verified with
    the same CA bundle (and proxy) as the exports (a TCP connection alone says nothing
    about TLS). Any HTTP answer will do; no span is sent."""
    from urllib.parse import urlsplit

    from staso_otel.export.transport import is_tls_failure

    if urlsplit(settings.endpoint).scheme != "https":
        return None
    transport = transport_for(settings, timeout_s)
    try:
        transport.get()
    except TransportError as exc:
        if is_tls_failure(exc.cause):
            return str(exc)
    finally:
        transport.close()
    return None


def _verify(settings: Settings) -> str | bool:
    """The CA bundle the library's exporter verifies with, else requests' default."""
    return settings.certificate or True


def backoff_s(attempts: int, retry_after_s: float | None = None) -> float:
    """2**n seconds with ±20% jitter, capped; a server's Retry-After wins when longer."""
    delay = min(2.0 ** max(attempts, 0), MAX_BACKOFF_S) * random.uniform(0.8, 1.2)
    if retry_after_s is not None:
        delay = max(delay, min(retry_after_s, RETRY_AFTER_MAX_S))
    return delay


def span_bytes(span: SpanData) -> int:
    """About what one span adds to a request (its attributes dominate)."""
    size = 256
    for key, value in span.attributes.items():  # no str() of a str: a third cheaper
        size += len(key) + len(value if type(value) is str else str(value))
    return size


def estimate_bytes(spans: Sequence[SpanData]) -> int:
    return sum(span_bytes(s) for s in spans)


def chunk(spans: Sequence[SpanData], max_bytes: int = MAX_REQUEST_BYTES) -> list[list[SpanData]]:
    """Split spans into requests of at most ~max_bytes (estimated from attribute sizes)."""
    out: list[list[SpanData]] = []
    current: list[SpanData] = []
    used = 0
    for span in spans:
        size = span_bytes(span)
        if current and used + size > max_bytes:
            out.append(current)
            current, used = [], 0
        current.append(span)
        used += size
    if current:
        out.append(current)
    return out
