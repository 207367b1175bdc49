"""A library span's attributes go onto its SDK span exactly as `set_attributes` puts them.

`api/attributes.py` writes the values staso made straight into the SDK span's attribute
map when the SDK's checks could change nothing; every case where they could (span limits,
values of other types, bad keys, attributes the application set on the span while it ran)
must end with the same attributes, in the same order, with the same dropped count, as the
SDK's own `set_attributes`, and the fast path must be taken when nothing applies.
"""

from __future__ import annotations

import decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry import trace
from opentelemetry.sdk.trace import SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import staso_otel
from staso_otel import semconv
from staso_otel.api import attributes, config


class _Odd:
    def __str__(self) -> str:
        return "odd"


class _Text(str):
    pass


class _Count(int):
    pass


def _turn(facts: dict, odd: dict | None = None) -> None:
    odd = odd or {}
    with staso_otel.turn(odd.get("prompt", "fix the parser"), session_id="s-1") as t:
        with staso_otel.llm_call("gpt-5", input_messages=odd.get("messages", "fix it")) as call:
            trace.get_current_span().set_attribute(semconv.GEN_AI_RESPONSE_ID, "early")
            trace.get_current_span().set_attribute("app.note", "set while it ran")
            call.set_usage(odd.get("tokens", 812), 64, cache_read_tokens=512)
            call.set_response(
                odd.get("answer", "done"), response_id="resp_1", finish_reasons=["stop"]
            )
        with staso_otel.tool_call("shell", odd.get("arguments", {"command": "pytest -q"})) as tool:
            tool.set_facts(facts)
            tool.set_result(odd.get("result", "1 passed"))
        t.set_response(odd.get("answer", "fixed"))


def _spans(
    limits: SpanLimits,
    facts: dict,
    sdk_path: bool,
    monkeypatch,
    odd: dict | None = None,
    capture_content: bool = True,
) -> list:
    exporter = InMemorySpanExporter()
    staso_otel.configure(
        agent="bot",
        exporter=exporter,
        endpoint="http://127.0.0.1:9",
        tracer_provider=TracerProvider(span_limits=limits),
        capture_content=capture_content,
    )
    with monkeypatch.context() as m:
        if sdk_path:
            m.setattr(attributes, "_direct", lambda span, store, attrs: False)
        try:
            _turn(facts, odd)
        finally:
            config.reset()
    return [
        (s.name, list(s.attributes.items()), s.dropped_attributes)
        for s in exporter.get_finished_spans()
    ]


@pytest.mark.parametrize(
    ("limits", "facts"),
    [
        (SpanLimits(), {semconv.STASO_SHELL_EXIT_CODE: 0}),
        (SpanLimits(max_span_attribute_length=5), {}),
        (SpanLimits(max_span_attributes=6), {}),
        (SpanLimits(max_span_attributes=0), {}),
        (SpanLimits(), {"": "empty key", 7: "int key", "odd": _Odd()}),
    ],
    ids=["none", "value-length", "count", "no-attributes", "odd-facts"],
)
def test_library_spans_carry_what_the_sdks_set_attributes_makes(monkeypatch, limits, facts):
    direct = _spans(limits, facts, sdk_path=False, monkeypatch=monkeypatch)
    through_sdk = _spans(limits, facts, sdk_path=True, monkeypatch=monkeypatch)
    assert direct == through_sdk
    assert len(direct) == 3


def test_the_direct_path_is_taken_when_no_check_can_change_anything(monkeypatch):
    taken = []
    direct = attributes._direct

    def spy(span, store, attrs):
        taken.append(direct(span, store, attrs))
        return taken[-1]

    monkeypatch.setattr(attributes, "_direct", spy)
    _spans(SpanLimits(), {semconv.STASO_SHELL_EXIT_CODE: 0}, False, monkeypatch)
    assert taken == [True, True, True]


# values of the types a caller may hand the scopes: subclasses the SDK keeps as they are,
# and types it changes (a Decimal becomes None, a list a tuple)
_values = st.one_of(
    st.text(max_size=12),
    st.text(max_size=12).map(_Text),
    st.integers(-5, 10**20),
    st.integers(0, 9).map(_Count),
    st.booleans(),
    st.floats(allow_nan=False),
    st.decimals(allow_nan=False, allow_infinity=False, places=2).map(decimal.Decimal),
    st.lists(st.text(max_size=4).map(_Text) | st.integers(0, 9), max_size=3),
    st.none(),
)
_keys = st.one_of(st.text(max_size=8), st.integers(0, 9), st.just(""))


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    facts=st.dictionaries(_keys, _values, max_size=4),
    prompt=_values,
    answer=_values,
    tokens=st.integers(0, 99) | st.integers(0, 9).map(_Count) | st.decimals(0, 99, places=0),
    messages=st.lists(
        st.fixed_dictionaries(
            {"role": st.sampled_from(["user", "tool", "assistant"]) | _values, "content": _values}
        ),
        max_size=2,
    ),
    capture_content=st.booleans(),
)
def test_odd_values_anywhere_end_as_the_sdk_makes_them(
    monkeypatch, facts, prompt, answer, tokens, messages, capture_content
):
    # the direct path takes a scope's attributes unlooked-at only when redaction found
    # every value of PLAIN_TYPES and the keys the builders' own: whatever a caller passes,
    # the spans end as the SDK's own set_attributes makes them
    odd = {"prompt": prompt, "answer": answer, "tokens": tokens, "messages": messages}
    odd |= {"arguments": facts, "result": answer}
    direct, through_sdk = (
        _spans(SpanLimits(), facts, sdk, monkeypatch, odd, capture_content) for sdk in (False, True)
    )
    assert direct == through_sdk
    assert len(direct) == 3
