"""A real OTLP/HTTP receiver for tests, on 127.0.0.1:<free port>.

It decodes the protobuf `ExportTraceServiceRequest` the SDK exporter sends and keeps the
spans as plain dicts. A script (`mode`) makes it misbehave: answer 500/429/413, hang,
flap, redirect, or be stopped (connection refused), so the exporter's failure paths are
real. With `tls=(certfile, keyfile)` it speaks HTTPS.
"""

from __future__ import annotations

import base64
import gzip
import json
import ssl
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from google.protobuf import json_format
from loopback_http import LoopbackHTTPServer
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

KINDS = {0: "UNSPECIFIED", 1: "INTERNAL", 2: "SERVER", 3: "CLIENT", 4: "PRODUCER", 5: "CONSUMER"}
STATUS = {0: "UNSET", 1: "OK", 2: "ERROR"}


def any_value(value: AnyValue) -> Any:
    which = value.WhichOneof("value")
    if which == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if which == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in value.kvlist_value.values}
    if which is None:
        return None
    return getattr(value, which)


def decode(body: bytes) -> list[dict[str, Any]]:
    request = ExportTraceServiceRequest()
    request.ParseFromString(body)
    spans = []
    for rs in request.resource_spans:
        resource = {kv.key: any_value(kv.value) for kv in rs.resource.attributes}
        for ss in rs.scope_spans:
            for s in ss.spans:
                spans.append(
                    {
                        "trace_id": s.trace_id.hex(),
                        "span_id": s.span_id.hex(),
                        "parent_span_id": s.parent_span_id.hex() or None,
                        "name": s.name,
                        "kind": KINDS.get(s.kind, str(s.kind)),
                        "start_ns": s.start_time_unix_nano,
                        "end_ns": s.end_time_unix_nano,
                        "attributes": {kv.key: any_value(kv.value) for kv in s.attributes},
                        "status": STATUS.get(s.status.code, str(s.status.code)),
                        "status_message": s.status.message,
                        "events": [
                            {
                                "name": e.name,
                                "time_ns": e.time_unix_nano,
                                "attributes": {kv.key: any_value(kv.value) for kv in e.attributes},
                            }
                            for e in s.events
                        ],
                        "resource": resource,
                        "scope": ss.scope.name,
                    }
                )
    return spans


def decode_json(body: bytes) -> list[dict[str, Any]]:
    """OTLP/JSON, strictly: protobuf's own JSON parser (unknown fields and wrong types are
    errors), after turning the hex ids OTLP/JSON uses into the base64 protobuf expects."""
    data = json.loads(body)
    for rs in data.get("resourceSpans", []):
        for ss in rs.get("scopeSpans", []):
            for span in ss.get("spans", []):
                for item in (span, *span.get("links", [])):
                    for key in ("traceId", "spanId", "parentSpanId"):
                        if item.get(key):
                            item[key] = base64.b64encode(bytes.fromhex(item[key])).decode()
    request = json_format.ParseDict(data, ExportTraceServiceRequest())
    return decode(request.SerializeToString())


@dataclass
class Receiver:
    """`mode` is one of: ok, 500, 429, 413 (413 only when the body exceeds `max_body`),
    hang (sleep `hang_s` before answering), or a callable(request_number) -> status, or
    -> (status, extra response headers) (a Location, a Retry-After)."""

    mode: str | Callable[[int], int] = "ok"
    max_body: int = 0
    hang_s: float = 30.0
    spans: list[dict[str, Any]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    port: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    tls: tuple[str, str] | None = None
    client_ca: str | None = None  # with tls: require a client certificate signed by it
    # False: bodies are kept in `requests` undecoded and `spans` stays empty until
    # decode_kept(): a benchmark's receiver then costs the cores it shares with what it
    # measures no more than a collector on another machine would (decoding every span in
    # Python took a good part of a core)
    decode: bool = True

    @property
    def endpoint(self) -> str:
        return f"{self.base_url}/v1/traces"

    @property
    def base_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def start(self, port: int | None = None) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                elif self.headers.get("Content-Encoding") == "deflate":
                    body = zlib.decompress(body)
                is_json = (self.headers.get("Content-Type") or "").startswith("application/json")
                with receiver.lock:
                    number = len(receiver.requests)
                    receiver.requests.append(
                        {
                            "path": self.path,
                            "headers": dict(self.headers),
                            "bytes": len(body),
                            "body": body,
                        }
                    )
                status = receiver._status(number, len(body))
                extra: dict[str, str] = {}
                if isinstance(status, tuple):
                    status, extra = status
                if status == 200 and self.path == "/v1/traces":
                    if receiver.decode:
                        spans = decode_json(body) if is_json else decode(body)
                        with receiver.lock:
                            receiver.spans.extend(spans)
                    payload = ExportTraceServiceResponse().SerializeToString()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/x-protobuf")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                if status == 200:
                    status = 404
                self.send_response(status)
                if status == 429 and not extra:
                    self.send_header("Retry-After", "0")
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._server = LoopbackHTTPServer(("127.0.0.1", port or 0), Handler)
        if self.tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.tls)
            if self.client_ca:
                context.verify_mode = ssl.CERT_REQUIRED
                context.load_verify_locations(self.client_ca)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def decode_kept(self, first: int = 0) -> list[dict[str, Any]]:
        """With decode=False: the spans of the requests accepted from number `first` on,
        decoded now."""
        with self.lock:
            kept = [r for r in self.requests[first:] if r["path"] == "/v1/traces"]
        spans: list[dict[str, Any]] = []
        for request in kept:
            content = request["headers"].get("Content-Type") or ""
            body = request["body"]
            spans += decode_json(body) if content.startswith("application/json") else decode(body)
        return spans

    def _status(self, number: int, size: int) -> int | tuple[int, dict[str, str]]:
        mode = self.mode
        if callable(mode):
            return mode(number)
        if mode == "hang":
            time.sleep(self.hang_s)
            return 200
        if mode == "413":
            return 413 if size > self.max_body else 200
        if mode in ("500", "429", "503", "400", "401"):
            return int(mode)
        return 200

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def wait_for(
        self, predicate: Callable[[list[dict[str, Any]]], bool], timeout_s: float = 30.0
    ) -> bool:
        """Poll until predicate(spans) holds; bounded in time."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self.lock:
                if predicate(list(self.spans)):
                    return True
            time.sleep(0.05)
        return False
