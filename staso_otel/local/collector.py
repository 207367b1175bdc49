"""`staso collector`: an OTLP/HTTP receiver on loopback that stores spans locally. [local]

Accepts what any OpenTelemetry SDK sends to /v1/traces: protobuf or OTLP/JSON (hex ids,
enum numbers or names), optionally gzip- or deflate-compressed, with a Content-Length or
chunked (Transfer-Encoding: chunked). It answers 200 only once the spans are stored: 400
to a body it cannot read (and keeps running), 503 when the store fails, so the sender
keeps its spans and retries instead of losing them. Each stored root span (a finished
turn) is handed to `on_turn`, which the CLI uses to print the turn as it completes.
"""

from __future__ import annotations

import base64
import json
import sqlite3
import threading
import zlib
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from staso_otel.local.store import Store

KINDS = ["UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER"]
STATUS = ["UNSET", "OK", "ERROR"]
MAX_BODY = 64 * 1024 * 1024


class BadRequest(ValueError):
    pass


def read_body(req: BaseHTTPRequestHandler) -> bytes:
    """The request body, by Content-Length or chunked framing, at most MAX_BODY bytes.

    http.server leaves both framings to the handler; a chunked body read as
    "no Content-Length, so empty" would be answered 200 and lost.
    """
    coding = (req.headers.get("Transfer-Encoding") or "").lower().replace(" ", "")
    if not coding or coding == "identity":
        try:
            length = int(req.headers.get("Content-Length") or 0)
        except ValueError:
            raise BadRequest("Content-Length is not a number") from None
        if length < 0 or length > MAX_BODY:
            raise BadRequest("request too large" if length > 0 else "negative Content-Length")
        body = req.rfile.read(length)
        if len(body) != length:
            raise BadRequest("body shorter than its Content-Length")
        return body
    if coding != "chunked":
        raise BadRequest(f"unsupported Transfer-Encoding {coding!r}")
    parts: list[bytes] = []
    size = 0
    while True:  # bounded: every chunk adds to `size`, capped at MAX_BODY
        line = req.rfile.readline(1024)
        try:
            chunk = int(line.split(b";")[0].strip(), 16)
        except ValueError:
            raise BadRequest("malformed chunk size") from None
        if chunk < 0 or size + chunk > MAX_BODY:
            raise BadRequest("request too large")
        if chunk == 0:
            for _ in range(100):  # trailer lines, up to the blank one
                if req.rfile.readline(8192) in (b"\r\n", b"\n", b""):
                    return b"".join(parts)
            raise BadRequest("too many trailer lines")
        data = req.rfile.read(chunk)
        if len(data) != chunk or req.rfile.readline(3) not in (b"\r\n", b"\n"):
            raise BadRequest("truncated chunk")
        parts.append(data)
        size += chunk


def decompress(body: bytes, encoding: str) -> bytes:
    """Undo Content-Encoding, refusing output over MAX_BODY (a small gzip can expand a lot)."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise BadRequest(f"unsupported Content-Encoding {encoding!r}")
    wbits = zlib.MAX_WBITS | 16 if encoding != "deflate" else zlib.MAX_WBITS
    try:
        inflater = zlib.decompressobj(wbits)
        out = inflater.decompress(body, MAX_BODY + 1)
    except zlib.error as exc:
        raise BadRequest(f"not {encoding} data: {exc}") from None
    if len(out) > MAX_BODY:
        raise BadRequest("request too large once decompressed")
    if not inflater.eof:
        raise BadRequest(f"truncated {encoding} data")
    return out


def _pb_value(value: AnyValue) -> Any:
    which = value.WhichOneof("value")
    if which == "array_value":
        return [_pb_value(v) for v in value.array_value.values]
    if which == "kvlist_value":
        return {kv.key: _pb_value(kv.value) for kv in value.kvlist_value.values}
    if which == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    return None if which is None else getattr(value, which)


def decode_protobuf(body: bytes) -> list[dict[str, Any]]:
    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(body)
    except Exception as exc:  # protobuf raises DecodeError, among others
        raise BadRequest(f"not an OTLP protobuf request: {exc}") from None
    spans = []
    for rs in request.resource_spans:
        resource = {kv.key: _pb_value(kv.value) for kv in rs.resource.attributes}
        for ss in rs.scope_spans:
            for s in ss.spans:
                if len(s.trace_id) != 16 or len(s.span_id) != 8:
                    raise BadRequest("span with an invalid trace or span id")
                spans.append(
                    {
                        "trace_id": s.trace_id.hex(),
                        "span_id": s.span_id.hex(),
                        "parent_span_id": s.parent_span_id.hex() or None,
                        "name": s.name,
                        "kind": KINDS[s.kind] if s.kind < len(KINDS) else "INTERNAL",
                        "start_ns": s.start_time_unix_nano,
                        "end_ns": s.end_time_unix_nano,
                        "attributes": {kv.key: _pb_value(kv.value) for kv in s.attributes},
                        "status": STATUS[s.status.code] if s.status.code < 3 else "UNSET",
                        "status_message": s.status.message,
                        "resource": resource,
                        "events": [{"name": e.name, "time_ns": e.time_unix_nano} for e in s.events],
                    }
                )
    return spans


def _json_value(value: dict[str, Any]) -> Any:
    for key in ("stringValue", "boolValue", "doubleValue", "bytesValue"):
        if key in value:
            return value[key]
    if "intValue" in value:
        return int(value["intValue"])  # OTLP/JSON sends 64-bit ints as strings
    if "arrayValue" in value:
        return [_json_value(v) for v in value["arrayValue"].get("values", [])]
    if "kvlistValue" in value:
        return {
            kv["key"]: _json_value(kv.get("value", {}))
            for kv in value["kvlistValue"].get("values", [])
        }
    return None


def _json_attrs(items: list[dict[str, Any]] | None) -> dict[str, Any]:
    return {kv["key"]: _json_value(kv.get("value") or {}) for kv in items or []}


def _enum(value: Any, names: list[str], prefix: str) -> str:
    if isinstance(value, int):
        return names[value] if 0 <= value < len(names) else names[0]
    text = str(value or "").removeprefix(prefix)
    return text if text in names else names[0]


def _hex_id(value: Any, size: int) -> str:
    text = str(value or "").lower()
    if len(text) != size * 2 or any(c not in "0123456789abcdef" for c in text):
        raise BadRequest(f"id {value!r} is not {size * 2} hex digits")
    return text


def decode_json(body: bytes) -> list[dict[str, Any]]:
    try:
        data = json.loads(body)
        spans = []
        for rs in data.get("resourceSpans", []):
            resource = _json_attrs((rs.get("resource") or {}).get("attributes"))
            for ss in rs.get("scopeSpans", []):
                for s in ss.get("spans", []):
                    status = s.get("status") or {}
                    spans.append(
                        {
                            "trace_id": _hex_id(s.get("traceId"), 16),
                            "span_id": _hex_id(s.get("spanId"), 8),
                            "parent_span_id": _hex_id(s["parentSpanId"], 8)
                            if s.get("parentSpanId")
                            else None,
                            "name": str(s.get("name", "")),
                            "kind": _enum(s.get("kind", 1), KINDS, "SPAN_KIND_"),
                            "start_ns": int(s.get("startTimeUnixNano", 0)),
                            "end_ns": int(s.get("endTimeUnixNano", 0)),
                            "attributes": _json_attrs(s.get("attributes")),
                            "status": _enum(status.get("code", 0), STATUS, "STATUS_CODE_"),
                            "status_message": status.get("message"),
                            "resource": resource,
                            "events": [
                                {"name": e.get("name"), "time_ns": int(e.get("timeUnixNano", 0))}
                                for e in s.get("events", [])
                            ],
                        }
                    )
        return spans
    except BadRequest:
        raise
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        raise BadRequest(f"not an OTLP/JSON request: {exc}") from None


class Collector:
    """The receiver; `start()` serves in a thread, `serve_forever()` in the caller's."""

    def __init__(
        self,
        store: Store,
        host: str = "127.0.0.1",
        port: int = 4318,
        on_turn: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.store = store
        self.on_turn = on_turn
        self.received = 0
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                collector._handle(self)

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.host = host

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}/v1/traces"

    def _handle(self, req: BaseHTTPRequestHandler) -> None:
        ctype = (req.headers.get("Content-Type") or "").split(";")[0].strip()
        try:
            if req.path.split("?")[0] != "/v1/traces":
                self._reply(req, 404, b"", ctype)
                return
            body = decompress(read_body(req), req.headers.get("Content-Encoding") or "")
            spans = decode_json(body) if ctype == "application/json" else decode_protobuf(body)
        except (BadRequest, OSError, ValueError) as exc:
            req.close_connection = True  # the rest of a bad body may still be on the wire
            self._error(req, 400, exc)
            return
        try:
            self.store.add(spans)
        except (sqlite3.Error, OSError) as exc:
            # 503 is retryable for every OTLP exporter: the sender keeps the spans
            self._error(req, 503, exc)
            return
        self.received += len(spans)
        # before the reply: once the sender is answered, the turn has been shown
        if self.on_turn:
            for span in spans:
                if span["parent_span_id"] is None:
                    self.on_turn(span)
        self._reply(
            req,
            200,
            b"{}"
            if ctype == "application/json"
            else ExportTraceServiceResponse().SerializeToString(),
            ctype,
        )

    @classmethod
    def _error(cls, req: BaseHTTPRequestHandler, code: int, exc: Exception) -> None:
        cls._reply(req, code, json.dumps({"error": str(exc)[:300]}).encode(), "application/json")

    @staticmethod
    def _reply(req: BaseHTTPRequestHandler, code: int, body: bytes, ctype: str) -> None:
        req.send_response(code)
        req.send_header("Content-Type", ctype or "application/x-protobuf")
        req.send_header("Content-Length", str(len(body)))
        req.end_headers()
        req.wfile.write(body)

    def start(self) -> Collector:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def serve_forever(self) -> None:
        self.server.serve_forever()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
