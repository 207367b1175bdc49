"""SpanData -> OpenTelemetry ReadableSpan, and a sender that says why an export failed.

The SDK's `SpanExporter.export()` only answers SUCCESS or FAILURE, counts any status below
400 as SUCCESS (a redirect delivered nothing), and retries 429/502/503/504 and connection
errors inside one call. To tell "split the batch" (413) from "try later" (429, 5xx,
connection errors) from "rejected" (other 4xx, 3xx), and to keep ONE retry policy (the
spool's, which honours Retry-After and survives the worker exiting), we pass the OTLP
exporter our own `requests.Session` (a public argument). It records each answer and turns
every answer but a 2xx, and every transport error, into an exception of its own type, so
the exporter gives up after one request instead of retrying. Nothing here prints: the
SDK's loggers are quieted.
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import os
import random
import ssl
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from opentelemetry.attributes import BoundedAttributes
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, SpanLimits
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.util import BoundedList
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

from staso_otel import __version__, log, paths, semconv
from staso_otel.export.policy import Policy, span_limits
from staso_otel.export.policy import policy as make_policy
from staso_otel.settings import Settings
from staso_otel.span.model import SpanData, SpanEvent

SCOPE = InstrumentationScope("staso", __version__)
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
MAX_BACKOFF_S = 128.0
RETRY_AFTER_MAX_S = 3600.0  # a server's Retry-After is honoured up to an hour
# Keep each request far below the SDK's 64 MiB drop limit and typical proxy limits.
MAX_REQUEST_BYTES = 4 * 1024 * 1024
# A request made of several spool batches stops at whichever comes first: 512 spans (the
# SDK BatchSpanProcessor's max_export_batch_size) or 512 KB of estimated content.
# Encoding builds every span's message at once, at about ten times the content's size,
# so these bound the worker's memory while it sends a backlog: draining 200 sessions
# peaked at 90 MB with 4 MB groups, 59 MB at 512 spans, 45 MB at both caps (38 MB when
# each batch was its own request), and requests stay a few per hundred sessions.
MAX_REQUEST_SPANS = 512
MAX_GROUP_BYTES = 512 * 1024

for _name in ("opentelemetry.exporter.otlp.proto.http", "opentelemetry.exporter.otlp"):
    logging.getLogger(_name).setLevel(logging.CRITICAL)


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
    return Resource(attrs)


def _layer(source: str) -> int:
    """flag 0 > STASO_* 1 > OTEL_* 2 > profile 3 > default 4 (settings.py's precedence)."""
    if source in ("flag", "profile", "default"):
        return {"flag": 0, "profile": 3, "default": 4}[source]
    return 2 if source.startswith("OTEL_") else 1


def to_readable(
    span: SpanData, resource: Resource, limits: SpanLimits | None = None
) -> ReadableSpan:
    """The one place a ReadableSpan is built (its docstring says users should not; the
    SDK has no other door for spans finished elsewhere, so it happens here only).
    `limits`: the SDK's span limits (OTEL_*_LIMIT), applied as a TracerProvider would."""
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
        instrumentation_scope=SCOPE,
    )


def _limited(attrs: dict[str, Any], limits: SpanLimits | None, of: str) -> Any:
    """The SDK's BoundedAttributes, only when a limit bites (it costs a lock per key)."""
    if limits is None:
        return attrs
    count = limits.max_span_attributes if of == "span" else limits.max_event_attributes
    length = limits.max_span_attribute_length if of == "span" else limits.max_attribute_length
    if length is None and (count is None or len(attrs) <= count):
        return attrs
    return BoundedAttributes(count, attrs, immutable=True, max_value_len=length)


def _events(span: SpanData, limits: SpanLimits | None) -> Any:
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


class _Answered(Exception):
    """Ends the exporter's call after one request. Deliberately not a requests exception:
    the SDK retries only the connection errors it knows, so it stops here."""


class _StatusSession(requests.Session):
    """A requests.Session that remembers the last answer (status, Retry-After, Location)
    or why there was none, and makes every request the exporter's last."""

    def __init__(self) -> None:
        super().__init__()
        self.last_status: int | None = None
        self.last_retry_after: float | None = None
        self.last_location: str | None = None
        self.last_error: str | None = None

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        kwargs["allow_redirects"] = False  # a redirect is reported, never followed
        try:
            response = super().send(request, **kwargs)
        except (requests.RequestException, OSError) as exc:
            self.last_error = describe_error(exc, request.url or "")
            raise _Answered(self.last_error) from exc
        self.last_status = response.status_code
        self.last_retry_after = _parse_retry_after(response.headers.get("Retry-After"))
        self.last_location = response.headers.get("Location")
        if not 200 <= response.status_code < 300:
            raise _Answered(f"HTTP {response.status_code}")
        return response

    def merge_environment_settings(self, url, proxies, stream, verify, cert):  # type: ignore[no-untyped-def]
        merged = super().merge_environment_settings(url, proxies, stream, verify, cert)
        # requests lets REQUESTS_CA_BUNDLE (often set for other tools) override the
        # session's own CA bundle; the one configured for the collector must win.
        if isinstance(self.verify, str):
            merged["verify"] = self.verify
        return merged

    def reset(self) -> None:
        self.last_status = None
        self.last_retry_after = None
        self.last_location = None
        self.last_error = None


def _find(
    exc: BaseException, kind: type[BaseException] | tuple[type[BaseException], ...]
) -> BaseException | None:
    """The first exception of `kind` in exc's chain (requests wraps urllib3 wraps ssl)."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, kind):
            return current
        todo.extend([current.__cause__, current.__context__, getattr(current, "reason", None)])
        todo.extend(a for a in current.args if isinstance(a, BaseException))
    return None


def describe_error(exc: BaseException, url: str) -> str:
    """One line a user can act on, naming the host: why a request got no answer."""
    host = urlsplit(url).hostname or url
    verify = _find(exc, ssl.SSLCertVerificationError)
    if verify is not None:
        why = getattr(verify, "verify_message", "") or ""
        return (
            f"certificate verify failed for {host}" + (f" ({why})" if why else "") + "; "
            "set OTEL_EXPORTER_OTLP_CERTIFICATE (or STASO_CERTIFICATE) to its CA bundle"
        )
    tls = _find(exc, ssl.SSLError)
    if tls is not None:
        return f"TLS handshake with {host} failed: {tls}"
    if isinstance(exc, requests.Timeout):
        return f"no answer from {host} within the export timeout"
    if _find(exc, ConnectionRefusedError) is not None:
        return f"connection refused by {host}"
    if _find(exc, (http.client.RemoteDisconnected, ConnectionResetError)) is not None:
        return f"{host} closed the connection without an answer"
    if isinstance(exc, requests.ConnectionError):
        return f"connection to {host} failed: {type(_root(exc)).__name__}: {_root(exc)}"
    return f"{type(exc).__name__}: {exc}"


def _root(exc: BaseException) -> BaseException:
    while exc.__context__ is not None or getattr(exc, "reason", None) is not None:
        nxt = getattr(exc, "reason", None) or exc.__context__
        if not isinstance(nxt, BaseException):
            break
        exc = nxt
    return exc


def _parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        return max(parsedate_to_datetime(value).timestamp() - time.time(), 0.0)
    except (TypeError, ValueError):
        return None


def classify(status: int | None, result: SpanExportResult) -> str:
    if status is not None and 300 <= status < 400:
        return "rejected"  # the SDK calls a redirect SUCCESS; nothing was delivered
    if result is SpanExportResult.SUCCESS:
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


def build_exporter(settings: Settings, session: requests.Session | None = None) -> SpanExporter:
    """The one place an OTLP exporter is made from settings (worker and library alike):
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
            session=session,
        )
    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    with _sdk_env_hidden():
        return OTLPSpanExporter(
            endpoint=settings.endpoint,
            certificate_file=settings.certificate,
            client_key_file=settings.client_key,
            client_certificate_file=settings.client_certificate,
            headers=settings.export_headers(),
            timeout=settings.export_timeout,
            compression=Compression(settings.compression),
            session=session,
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


class Sender:
    """Exports SpanData through an SDK SpanExporter and classifies the outcome.

    With no `exporter`, builds OTLPSpanExporter (protobuf over HTTP) from settings; tests
    and the demo may pass any SpanExporter (then status codes are unknown: FAILURE is
    treated as retryable).
    """

    def __init__(
        self,
        settings: Settings,
        exporter: SpanExporter | None = None,
        policy: Policy | None = None,
    ) -> None:
        self.settings = settings
        self._session: _StatusSession | None = None
        self.policy = policy or make_policy(settings)
        self.limits, note = span_limits()
        if note:
            log.warning("worker", note)
        self.console: SpanExporter | None = None
        if "console" in self.policy.exporters:
            self.console = console_exporter(paths.console_spans_file())
        if exporter is None and "otlp" in self.policy.exporters:
            self._session = _StatusSession()
            exporter = build_exporter(settings, self._session)
        self.exporter = exporter
        self._resources: dict[str, Resource] = {}

    def _resource(self, target: str) -> Resource:
        if target not in self._resources:
            self._resources[target] = resource_for(self.settings, target)
        return self._resources[target]

    def send(self, spans: Sequence[SpanData]) -> Outcome:
        readable = [to_readable(s, self._resource(s.target), self.limits) for s in spans]
        outcome = self._export(readable) if self.exporter is not None else Outcome("ok")
        if self.console is not None and outcome.kind == "ok":
            # after the OTLP export, not before: a batch retried is written once
            self.console.export(readable)
        return outcome

    def _export(self, readable: list[ReadableSpan]) -> Outcome:
        assert self.exporter is not None
        if self._session is not None:
            self._session.reset()
        try:
            result = self.exporter.export(readable)
        except Exception as exc:  # an exporter must not take the worker down
            return Outcome("retry", detail=f"{type(exc).__name__}: {exc}")
        session = self._session
        status = session.last_status if session else None
        kind = classify(status, result)
        retry_after = session.last_retry_after if session else None
        return Outcome(kind, status, retry_after, "" if kind == "ok" else _detail(session))

    def shutdown(self) -> None:
        for exporter in (self.exporter, self.console):
            if exporter is not None:
                with contextlib.suppress(Exception):
                    exporter.shutdown()


def _detail(session: _StatusSession | None) -> str:
    if session is None or (session.last_status is None and not session.last_error):
        return "no response"
    if session.last_status is None:
        return session.last_error or "no response"
    status = session.last_status
    if 300 <= status < 400:
        where = f" to {session.last_location}" if session.last_location else ""
        return (
            f"HTTP {status} redirect{where} (staso does not follow redirects: "
            "set the endpoint to the URL that accepts the spans)"
        )
    return f"HTTP {status}"


def probe(settings: Settings, timeout_s: float = 3.0) -> str | None:
    """For `staso status` over https: None unless the TLS handshake fails, verified with
    the same CA bundle as the exports (a TCP connection alone says nothing about TLS).
    Any HTTP answer will do; no span is sent."""
    if urlsplit(settings.endpoint).scheme != "https":
        return None
    session = _StatusSession()
    session.verify = _verify(settings)
    try:
        session.get(settings.endpoint, timeout=timeout_s)
    except _Answered as exc:
        if _find(exc, ssl.SSLError) is not None:
            return session.last_error
    finally:
        session.close()
    return None


def _verify(settings: Settings) -> str | bool:
    """The CA bundle the exporter verifies with, else the system's (requests' default)."""
    return settings.certificate or True


def backoff_s(attempts: int, retry_after_s: float | None = None) -> float:
    """2**n seconds with ±20% jitter, capped; a server's Retry-After wins when longer."""
    delay = min(2.0 ** max(attempts, 0), MAX_BACKOFF_S) * random.uniform(0.8, 1.2)
    if retry_after_s is not None:
        delay = max(delay, min(retry_after_s, RETRY_AFTER_MAX_S))
    return delay


def span_bytes(span: SpanData) -> int:
    """About what one span adds to a request (its attributes dominate)."""
    return 256 + sum(len(k) + len(str(v)) for k, v in span.attributes.items())


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
