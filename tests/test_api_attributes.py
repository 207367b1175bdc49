"""A library span's attributes go onto its SDK span exactly as `set_attributes` puts them.

`api/attributes.py` writes the values staso made straight into the SDK span's attribute
map when the SDK's checks could change nothing; every case where they could (span limits,
values of other types, bad keys, attributes the application set on the span while it ran)
must end with the same attributes, in the same order, with the same dropped count, as the
SDK's own `set_attributes`, and the fast path must be taken when nothing applies.
"""

from __future__ import annotations

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import staso_otel
from staso_otel import semconv
from staso_otel.api import attributes, config


class _Odd:
    def __str__(self) -> str:
        return "odd"


def _turn(facts: dict) -> None:
    with staso_otel.turn("fix the parser", session_id="s-1") as t:
        with staso_otel.llm_call("gpt-5", input_messages="fix it") as call:
            trace.get_current_span().set_attribute(semconv.GEN_AI_RESPONSE_ID, "early")
            trace.get_current_span().set_attribute("app.note", "set while it ran")
            call.set_usage(812, 64, cache_read_tokens=512)
            call.set_response("done", response_id="resp_1", finish_reasons=["stop"])
        with staso_otel.tool_call("shell", {"command": "pytest -q"}) as tool:
            tool.set_facts(facts)
            tool.set_result("1 passed")
        t.set_response("fixed")


def _spans(limits: SpanLimits, facts: dict, sdk_path: bool, monkeypatch) -> list:
    exporter = InMemorySpanExporter()
    staso_otel.configure(
        agent="bot",
        exporter=exporter,
        endpoint="http://127.0.0.1:9",
        tracer_provider=TracerProvider(span_limits=limits),
    )
    with monkeypatch.context() as m:
        if sdk_path:
            m.setattr(attributes, "_direct", lambda span, store, attrs: False)
        try:
            _turn(facts)
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
