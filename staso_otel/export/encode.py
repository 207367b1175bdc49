"""SpanData -> an OTLP ExportTraceServiceRequest, as protobuf bytes or OTLP/JSON. [stdlib]

The worker used to build an SDK ReadableSpan per span, have the SDK's encoder make a
protobuf message of it and serialize that: three imports (the SDK, the exporter, the
protobuf runtime) and two copies of every span before a byte was written. The message
is small and fixed, so it is written here directly from SpanData, field by field in
wire format (field numbers from opentelemetry-proto's trace.proto, common.proto and
resource.proto). What it writes is what the SDK path wrote (tests/test_encode.py
decodes both with opentelemetry-proto and compares, byte for byte, for random spans): the same
grouping by resource, the scope, the span limits as a TracerProvider applies them
(the SDK's BoundedAttributes / BoundedList rules, dropped_*_count included), the
status, the flags, and the SDK's choice to leave out an attribute it cannot encode
(an int outside int64).

The OTLP/JSON form is protobuf's canonical JSON mapping of the same message with the
OTLP exceptions (ids hex, enums integers; OTLP spec, "JSON Protobuf Encoding").
"""

from __future__ import annotations

import base64
import math
import struct
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from staso_otel.span.model import SpanData

# trace.proto Span.SpanKind, Status.StatusCode: an unknown kind is INTERNAL, as in to_readable
KINDS = {"INTERNAL": 1, "SERVER": 2, "CLIENT": 3, "PRODUCER": 4, "CONSUMER": 5}
STATUS_CODES = {"UNSET": 0, "OK": 1, "ERROR": 2}
# SpanFlags.SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK: parents here are never remote
SPAN_FLAGS = 0x100
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_U64 = 2**64
_DOUBLE = struct.Struct("<d")
_FIXED64 = struct.Struct("<Q")
_FIXED32 = struct.Struct("<I")


@dataclass(frozen=True)
class Limits:
    """The span limits the SDK's SpanLimits reads (export/policy.py: span_limits); the
    same attribute names, so `to_readable` takes either."""

    max_span_attributes: int | None = 128
    max_events: int | None = 128
    max_event_attributes: int | None = 128
    max_attribute_length: int | None = None
    max_span_attribute_length: int | None = None


class _Unencodable(ValueError):
    """A value protobuf refuses (an int outside int64): the SDK logs it and leaves the
    attribute out, and so does this."""


# -- span limits, as BoundedAttributes / BoundedList apply them ------------------------------


def _clean(value: Any, length: int | None) -> Any:
    """opentelemetry.attributes._clean_attribute_value."""
    if value is None or isinstance(value, (bool, int, float, bytes)):
        return value
    if isinstance(value, str):
        return value if length is None or len(value) <= length else value[:length]
    if isinstance(value, Sequence):
        return tuple(_clean(v, length) for v in value)
    if isinstance(value, Mapping):
        return _clean_map(value, length)
    return str(value)


def _clean_map(attrs: Mapping[Any, Any], length: int | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in attrs.items():
        if not key:
            continue  # the SDK drops an empty key (and counts it)
        out[key if isinstance(key, str) else str(key)] = _clean(value, length)
    return out


def limited(
    attrs: Mapping[str, Any], count: int | None, length: int | None
) -> tuple[Mapping[str, Any], int]:
    """(attributes kept, how many dropped): to_readable's `_limited` + BoundedAttributes.
    Untouched unless a limit bites, as there (the SDK then cleans nothing either)."""
    if length is None and (count is None or len(attrs) <= count):
        return attrs, 0
    if count == 0:
        return {}, len(attrs)
    cleaned = _clean_map(attrs, length)
    if count is not None and len(cleaned) > count:
        keys = list(cleaned)[len(cleaned) - count :]  # the oldest are dropped
        cleaned = {k: cleaned[k] for k in keys}
    return cleaned, len(attrs) - len(cleaned)


@dataclass(frozen=True, slots=True)
class _Shaped:
    span: SpanData
    attributes: Mapping[str, Any]
    dropped_attributes: int
    events: list[tuple[str, int, Mapping[str, Any], int]]  # name, time, attributes, dropped
    dropped_events: int


def _shape(span: SpanData, limits: Limits | None) -> _Shaped:
    if limits is None:
        events = [(e.name, e.time_ns, e.attributes, 0) for e in span.events]
        return _Shaped(span, span.attributes, 0, events, 0)
    attrs, dropped = limited(
        span.attributes, limits.max_span_attributes, limits.max_span_attribute_length
    )
    events = []
    for e in span.events:
        kept, lost = limited(e.attributes, limits.max_event_attributes, limits.max_attribute_length)
        events.append((e.name, e.time_ns, kept, lost))
    most = limits.max_events
    dropped_events = 0
    if most is not None and len(events) > most:
        dropped_events = len(events) - most
        events = events[dropped_events:]
    return _Shaped(span, attrs, dropped, events, dropped_events)


def _status(span: SpanData) -> tuple[int, str | None]:
    code = STATUS_CODES.get(span.status, 0)
    description = span.status_description if code == 2 else None
    return code, description if isinstance(description, str) else None


# -- protobuf wire format ---------------------------------------------------------------------


_ONE_BYTE = [bytes((i,)) for i in range(0x80)]


def _varint(n: int) -> bytes:
    if n < 0x80:
        return _ONE_BYTE[n]
    if n < 0x4000:
        return bytes(((n & 0x7F) | 0x80, n >> 7))
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _field(tag: bytes, payload: bytes) -> bytes:
    """A length-delimited field: its tag byte(s), the length, the payload."""
    return tag + _varint(len(payload)) + payload


def _pb_any(value: Any) -> bytes:
    """An AnyValue's body, as the SDK's `_encode_value` chooses the oneof member."""
    if value is None:
        return b""
    if isinstance(value, bool):
        return b"\x10\x01" if value else b"\x10\x00"
    if isinstance(value, str):
        return _field(b"\x0a", value.encode())
    if isinstance(value, int):
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise _Unencodable(f"int {value} is outside int64")
        return b"\x18" + _varint(value % _U64)
    if isinstance(value, float):
        return b"\x21" + _DOUBLE.pack(value)
    if isinstance(value, bytes):
        return _field(b"\x3a", value)
    if isinstance(value, Sequence):
        return _field(b"\x2a", b"".join(_field(b"\x0a", _pb_any(v)) for v in value))
    if isinstance(value, Mapping):
        pairs = b"".join(_field(b"\x0a", _pb_kv(str(k), v)) for k, v in value.items())
        return _field(b"\x32", pairs)
    raise _Unencodable(f"Invalid type {type(value)} of value {value}")


_KEYS: dict[str, bytes] = {}  # a KeyValue's key field: the same few dozen names, every span


def _pb_kv(key: str, value: Any) -> bytes:
    head = _KEYS.get(key)
    if head is None:
        if len(_KEYS) > 4096:
            _KEYS.clear()
        head = _KEYS[key] = _field(b"\x0a", key.encode()) if key else b""
    body = _pb_any(value)
    return head + b"\x12" + _varint(len(body)) + body


# A short string attribute, kept encoded whole (its tag, length and KeyValue): 70% of a
# recorded session's string attributes recur within it, on every span (the conventions'
# values, the session id, model, provider, cwd), and many in every session.
_SHORT_VALUE = 128
_PAIRS: dict[tuple[str, str, bytes], bytes] = {}
_PAIRS_MAX = 8192


def _pb_attributes(attrs: Mapping[str, Any], tag: bytes) -> bytes:
    parts = []
    keys = _KEYS
    pairs = _PAIRS
    for key, value in attrs.items():
        kind = type(value)
        short = kind is str and len(value) <= _SHORT_VALUE
        if short:
            done = pairs.get((key, value, tag))
            if done is not None:
                parts.append(done)
                continue
        try:
            head = keys.get(key)
            if head is None:
                if len(keys) > 4096:
                    keys.clear()
                head = keys[key] = _field(b"\x0a", key.encode()) if key else b""
            if kind is str:  # most values: inlined, it is the encoder's hot loop
                text = value.encode()
                body = b"\x0a" + _varint(len(text)) + text
            else:
                body = _pb_any(value)
            kv = head + b"\x12" + _varint(len(body)) + body
        except (_Unencodable, UnicodeEncodeError):
            continue  # the SDK logs and leaves out an attribute it cannot encode
        done = tag + _varint(len(kv)) + kv
        if short:
            if len(pairs) >= _PAIRS_MAX:
                pairs.clear()
            pairs[(key, value, tag)] = done
        parts.append(done)
    return b"".join(parts)


def _pb_span(shaped: _Shaped) -> bytes:
    span = shaped.span
    out = [
        b"\x0a\x10" + span.trace_id.to_bytes(16, "big"),
        b"\x12\x08" + span.span_id.to_bytes(8, "big"),
    ]
    if span.parent_span_id is not None:
        out.append(b"\x22\x08" + span.parent_span_id.to_bytes(8, "big"))
    if span.name:
        out.append(_field(b"\x2a", span.name.encode()))
    out.append(b"\x30" + _varint(KINDS.get(span.kind, 1)))
    end = max(span.end_ns, span.start_ns)
    if span.start_ns:
        out.append(b"\x39" + _FIXED64.pack(span.start_ns))
    if end:
        out.append(b"\x41" + _FIXED64.pack(end))
    out.append(_pb_attributes(shaped.attributes, b"\x4a"))
    if shaped.dropped_attributes:
        out.append(b"\x50" + _varint(shaped.dropped_attributes))
    for name, time_ns, attrs, dropped in shaped.events:
        event = [b"\x09" + _FIXED64.pack(time_ns)] if time_ns else []
        if name:
            event.append(_field(b"\x12", name.encode()))
        event.append(_pb_attributes(attrs, b"\x1a"))
        if dropped:
            event.append(b"\x20" + _varint(dropped))
        out.append(_field(b"\x5a", b"".join(event)))
    if shaped.dropped_events:
        out.append(b"\x60" + _varint(shaped.dropped_events))
    code, description = _status(span)
    status = _field(b"\x12", description.encode()) if description else b""
    out.append(_field(b"\x7a", status + (b"\x18" + _varint(code) if code else b"")))
    out.append(b"\x85\x01" + _FIXED32.pack(SPAN_FLAGS))
    return b"".join(out)


# -- OTLP/JSON --------------------------------------------------------------------------------


def _js_any(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, str):
        return {"stringValue": value}
    if isinstance(value, int):
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise _Unencodable(f"int {value} is outside int64")
        return {"intValue": str(value)}
    if isinstance(value, float):
        if math.isnan(value):
            return {"doubleValue": "NaN"}
        if math.isinf(value):
            return {"doubleValue": "Infinity" if value > 0 else "-Infinity"}
        return {"doubleValue": value}
    if isinstance(value, bytes):
        return {"bytesValue": base64.b64encode(value).decode()}
    if isinstance(value, Sequence):
        values = [_js_any(v) for v in value]
        return {"arrayValue": {"values": values} if values else {}}
    if isinstance(value, Mapping):
        pairs = [_js_kv(str(k), v) for k, v in value.items()]
        return {"kvlistValue": {"values": pairs} if pairs else {}}
    raise _Unencodable(f"Invalid type {type(value)} of value {value}")


def _js_kv(key: str, value: Any) -> dict[str, Any]:
    return {"key": key, "value": _js_any(value)} if key else {"value": _js_any(value)}


def _js_attributes(attrs: Mapping[str, Any], strict: bool = False) -> list[dict[str, Any]]:
    out = []
    for key, value in attrs.items():
        try:
            kv = _js_kv(key, value)
            if strict:
                orjson.dumps(kv)  # a lone surrogate: left out, as protobuf would
        except (_Unencodable, orjson.JSONEncodeError):
            continue
        out.append(kv)
    return out


def _js_span(shaped: _Shaped, strict: bool = False) -> dict[str, Any]:
    span = shaped.span
    out: dict[str, Any] = {"traceId": f"{span.trace_id:032x}", "spanId": f"{span.span_id:016x}"}
    if span.parent_span_id is not None:
        out["parentSpanId"] = f"{span.parent_span_id:016x}"
    if span.name:
        out["name"] = span.name
    out["kind"] = KINDS.get(span.kind, 1)
    end = max(span.end_ns, span.start_ns)
    if span.start_ns:
        out["startTimeUnixNano"] = str(span.start_ns)
    if end:
        out["endTimeUnixNano"] = str(end)
    attrs = _js_attributes(shaped.attributes, strict)
    if attrs:
        out["attributes"] = attrs
    if shaped.dropped_attributes:
        out["droppedAttributesCount"] = shaped.dropped_attributes
    events = []
    for name, time_ns, event_attrs, dropped in shaped.events:
        event: dict[str, Any] = {"timeUnixNano": str(time_ns)} if time_ns else {}
        if name:
            event["name"] = name
        encoded = _js_attributes(event_attrs, strict)
        if encoded:
            event["attributes"] = encoded
        if dropped:
            event["droppedAttributesCount"] = dropped
        events.append(event)
    if events:
        out["events"] = events
    if shaped.dropped_events:
        out["droppedEventsCount"] = shaped.dropped_events
    code, description = _status(span)
    status: dict[str, Any] = {"message": description} if description else {}
    if code:
        status["code"] = code
    out["status"] = status
    out["flags"] = SPAN_FLAGS
    return out


# -- the request ------------------------------------------------------------------------------


class Resource:
    """A resource's attributes, cleaned as the SDK's Resource cleans them, and its two
    encodings, made once per target."""

    def __init__(self, attributes: Mapping[str, Any]) -> None:
        self.attributes = _clean_map(attributes, None)
        # equal attributes are one resource (the SDK groups by Resource equality)
        self.key = orjson.dumps(self.attributes, option=orjson.OPT_SORT_KEYS, default=str)
        self.pb = _field(b"\x0a", _pb_attributes(self.attributes, b"\x0a"))
        attrs = _js_attributes(self.attributes, strict=True)
        self.json: dict[str, Any] = {"attributes": attrs} if attrs else {}


def _scope_pb(name: str, version: str) -> bytes:
    body = (_field(b"\x0a", name.encode()) if name else b"") + (
        _field(b"\x12", version.encode()) if version else b""
    )
    return _field(b"\x0a", body)


def _scope_json(name: str, version: str) -> dict[str, Any]:
    return {k: v for k, v in (("name", name), ("version", version)) if v}


def _grouped(
    spans: Sequence[SpanData], resource: Callable[[str], Resource], limits: Limits | None
) -> list[tuple[Resource, list[_Shaped]]]:
    """Spans by resource, in the order each resource first appears (as the SDK does)."""
    groups: dict[bytes, tuple[Resource, list[_Shaped]]] = {}
    for span in spans:
        res = resource(span.target)
        if res.key not in groups:
            groups[res.key] = (res, [])
        groups[res.key][1].append(_shape(span, limits))
    return list(groups.values())


def encode_protobuf(
    spans: Sequence[SpanData],
    resource: Callable[[str], Resource],
    scope: tuple[str, str],
    limits: Limits | None = None,
) -> bytes:
    """The ExportTraceServiceRequest, serialized. `resource(target)` gives a span's."""
    scope_pb = _scope_pb(*scope)
    out = []
    for res, shaped in _grouped(spans, resource, limits):
        spans_pb = b"".join(_field(b"\x12", _pb_span(s)) for s in shaped)
        scope_spans = _field(b"\x12", scope_pb + spans_pb)
        out.append(_field(b"\x0a", res.pb + scope_spans))
    return b"".join(out)


def encode_json(
    spans: Sequence[SpanData],
    resource: Callable[[str], Resource],
    scope: tuple[str, str],
    limits: Limits | None = None,
) -> bytes:
    """The same request as OTLP/JSON."""
    scope_json = _scope_json(*scope)
    grouped = _grouped(spans, resource, limits)

    def request(strict: bool) -> bytes:
        groups = [
            {
                "resource": res.json,
                "scopeSpans": [
                    {"scope": scope_json, "spans": [_js_span(s, strict) for s in shaped]}
                ],
            }
            for res, shaped in grouped
        ]
        return orjson.dumps({"resourceSpans": groups} if groups else {})

    try:
        return request(False)
    except orjson.JSONEncodeError:  # rare: find the attributes protobuf would refuse
        return request(True)
