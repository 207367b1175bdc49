"""OTLP/JSON over HTTP (`OTEL_EXPORTER_OTLP_PROTOCOL=http/json`) for the library's live SDK
path, whose spans are already ReadableSpans. [export] (The worker writes its OTLP/JSON
from SpanData itself: export/encode.py, held equal to this one by tests/test_encode.py.)

The SDK ships only the protobuf encoding for HTTP. The JSON one is the same message in
protobuf's canonical JSON mapping with the OTLP exceptions: trace and span ids are hex,
not base64, and enums are integers (OTLP spec, "JSON Protobuf Encoding"). So the SDK's
own encoder builds the message and protobuf's json_format maps it; only the ids are fixed.
"""

from __future__ import annotations

import base64
import gzip
import zlib
from collections.abc import Sequence
from typing import Any

import orjson
import requests
from google.protobuf.json_format import MessageToDict
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

_ID_KEYS = ("traceId", "spanId", "parentSpanId")


def _hex_ids(item: dict[str, Any]) -> None:
    for key in _ID_KEYS:
        if item.get(key):
            item[key] = base64.b64decode(item[key]).hex()


def encode_json(spans: Sequence[ReadableSpan]) -> bytes:
    """An ExportTraceServiceRequest as OTLP/JSON."""
    data = MessageToDict(encode_spans(spans), use_integers_for_enums=True)
    for rs in data.get("resourceSpans", []):
        for ss in rs.get("scopeSpans", []):
            for span in ss.get("spans", []):
                _hex_ids(span)
                for link in span.get("links", []):
                    _hex_ids(link)
    return orjson.dumps(data)


class OTLPJsonSpanExporter(SpanExporter):
    """POSTs OTLP/JSON; one attempt per export (the worker owns retries and backoff)."""

    def __init__(
        self,
        endpoint: str,
        headers: dict[str, str],
        timeout: float,
        compression: str = "none",
        verify: bool | str = True,
        cert: str | tuple[str, str] | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.headers = {**headers, "Content-Type": "application/json"}
        if compression != "none":
            self.headers["Content-Encoding"] = compression
        self.compression = compression
        self.timeout = timeout
        self.verify = verify
        self.cert = cert
        self.session = session or requests.Session()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        body = encode_json(spans)
        if self.compression == "gzip":
            body = gzip.compress(body)
        elif self.compression == "deflate":
            body = zlib.compress(body)
        try:
            response = self.session.post(
                self.endpoint,
                data=body,
                headers=self.headers,
                timeout=self.timeout,
                verify=self.verify,
                cert=self.cert,
            )
        except requests.RequestException:
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS if response.ok else SpanExportResult.FAILURE

    def shutdown(self) -> None:
        self.session.close()
