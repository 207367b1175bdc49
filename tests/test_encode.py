"""The worker's own OTLP encoder writes what the SDK path wrote.

For random SpanData (every attribute value type, empty and long sequences, ints at and
beyond int64, events, statuses, end before start, several targets) and random span
limits, the protobuf bytes of export/encode.py decode (with opentelemetry-proto) to the
same ExportTraceServiceRequest as the SDK's encoder makes of `to_readable(...)`, and are
byte for byte what the SDK exporter serialized, and the
OTLP/JSON bytes parse to what the SDK message + protobuf's json_format gave.
"""

from __future__ import annotations

import orjson
import pytest
from google.protobuf.json_format import MessageToDict
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import SpanLimits

from staso_otel.export import encode, otlp, policy
from staso_otel.span.model import SpanData, SpanEvent

SCOPE = (otlp.SCOPE_NAME, otlp.SCOPE_VERSION)
TARGETS = ["codex", "claude-code", "gemini", ""]

_text = st.text(max_size=12)
_int = st.one_of(
    st.integers(-5, 5),
    st.integers(-(2**63), 2**63 - 1),
    st.sampled_from([2**63 - 1, -(2**63), 2**63, -(2**63) - 1, 2**64, 2**70]),
)
_float = st.floats(allow_nan=True, allow_infinity=True)
_scalar = st.one_of(_text, st.booleans(), _int, _float)
_value = st.one_of(
    _scalar,
    st.lists(_text, max_size=4).map(tuple),
    st.lists(st.booleans(), max_size=4).map(tuple),
    st.lists(_int, max_size=4).map(tuple),
    st.lists(_float, max_size=4).map(tuple),
    st.just(()),
)
_attrs = st.dictionaries(_text, _value, max_size=8)
_time = st.integers(0, 2**63)


@st.composite
def spans(draw) -> SpanData:
    start = draw(_time)
    return SpanData(
        trace_id=draw(st.integers(0, 2**128 - 1)),
        span_id=draw(st.integers(0, 2**64 - 1)),
        parent_span_id=draw(st.none() | st.integers(0, 2**64 - 1)),
        name=draw(_text),
        kind=draw(st.sampled_from(["INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER", "x"])),
        start_ns=start,
        end_ns=draw(st.one_of(_time, st.integers(0, start))),  # end < start is clamped
        attributes=draw(_attrs),
        status=draw(st.sampled_from(["UNSET", "OK", "ERROR", "bogus"])),
        status_description=draw(st.none() | _text),
        events=tuple(
            SpanEvent(draw(_text), draw(_time), draw(_attrs))
            for _ in range(draw(st.integers(0, 4)))
        ),
        target=draw(st.sampled_from(TARGETS)),
    )


_limit = st.none() | st.integers(0, 6)
limits = (
    st.builds(
        encode.Limits,
        max_span_attributes=_limit,
        max_events=_limit,
        max_event_attributes=_limit,
        max_attribute_length=_limit,
        max_span_attribute_length=_limit,
    )
    | st.just(encode.Limits())
    | st.none()
)

RESOURCES = {
    t: {"service.name": t or "staso", "service.version": "1", "deployment.environment.name": None}
    for t in TARGETS
}
RESOURCES["gemini"] = dict(RESOURCES["codex"])  # two targets, one resource: one group


def _ours(batch, lim, how):
    cache = {t: encode.Resource(a) for t, a in RESOURCES.items()}
    return how(batch, cache.__getitem__, SCOPE, lim)


def _sdk_message(batch, lim):
    from opentelemetry.sdk.resources import Resource

    res = {t: Resource(a) for t, a in RESOURCES.items()}
    return encode_spans([otlp.to_readable(s, res[s.target], lim) for s in batch])


def _same(ours: ExportTraceServiceRequest, sdk: ExportTraceServiceRequest) -> bool:
    # the decoded messages, compared by their canonical bytes (NaN != NaN as a field)
    return ours.SerializeToString(deterministic=True) == sdk.SerializeToString(deterministic=True)


FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(st.lists(spans(), max_size=5), limits)
def test_protobuf_is_what_the_sdk_encoder_sends(batch, lim):
    ours = _ours(batch, lim, encode.encode_protobuf)
    sdk = _sdk_message(batch, lim)
    assert _same(ExportTraceServiceRequest.FromString(ours), sdk)
    assert ours == sdk.SerializePartialToString()  # byte for byte, as the exporter sent it
    encode._PAIRS.clear()
    assert _ours(batch, lim, encode.encode_protobuf) == ours  # every short pair encoded anew
    assert _ours(batch, lim, encode.encode_protobuf) == ours  # and every one from the cache


def _sdk_json(batch, lim) -> dict:
    from staso_otel.export.otlp_json import _hex_ids

    data = MessageToDict(_sdk_message(batch, lim), use_integers_for_enums=True)
    for rs in data.get("resourceSpans", []):
        for ss in rs.get("scopeSpans", []):
            for span in ss.get("spans", []):
                _hex_ids(span)
    return data


def _nan_safe(data):
    return orjson.loads(orjson.dumps(data))


@FAST
@given(st.lists(spans(), max_size=5), limits)
def test_json_is_what_the_sdk_message_maps_to(batch, lim):
    assert orjson.loads(_ours(batch, lim, encode.encode_json)) == _nan_safe(_sdk_json(batch, lim))


def test_an_int_beyond_int64_is_left_out_as_the_sdk_leaves_it_out():
    span = SpanData(1, 2, None, "s", "INTERNAL", 5, 6, {"big": 2**63, "ok": -1, "arr": (1, 2**64)})
    decoded = ExportTraceServiceRequest.FromString(_ours([span], None, encode.encode_protobuf))
    (kept,) = decoded.resource_spans[0].scope_spans[0].spans[0].attributes
    assert (kept.key, kept.value.int_value) == ("ok", -1)


_LIMIT_VARS = [
    "OTEL_ATTRIBUTE_COUNT_LIMIT",
    "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT",
    "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT",
    "OTEL_SPAN_EVENT_COUNT_LIMIT",
    "OTEL_SPAN_LINK_COUNT_LIMIT",
    "OTEL_LINK_ATTRIBUTE_COUNT_LIMIT",
    "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT",
    "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT",
]


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(st.sampled_from(_LIMIT_VARS), st.sampled_from(["", " 3", "0", "17", "-1", "x"]))
)
def test_span_limits_are_read_as_the_sdk_reads_them(env):
    with pytest.MonkeyPatch.context() as mp:
        for name in _LIMIT_VARS:
            mp.delenv(name, raising=False)
        for name, value in env.items():
            mp.setenv(name, value)
        ours, note = policy.span_limits()
        try:
            sdk = SpanLimits()
        except ValueError as exc:
            assert note == f"span limits ignored, SDK defaults used: {exc}"
            assert ours == encode.Limits()
            return
        assert note is None
        for field in ("max_span_attributes", "max_events", "max_event_attributes",
                      "max_attribute_length", "max_span_attribute_length"):  # fmt: skip
            assert getattr(ours, field) == getattr(sdk, field), field
