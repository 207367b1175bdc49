"""`configure()` on an application's own TracerProvider, exporting to a real OTLP receiver.

staso exports its turns and what runs inside them, not the application's other spans; a
span another instrumentation starts inside a turn carries the turn's session.id (and
user.id) and its reported usage adds to the turn's totals, once; staso's resource reaches
the backend; the application's own exporter keeps receiving everything, untouched.
"""

from __future__ import annotations

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import staso_otel
from staso_otel import semconv
from staso_otel.api import config


@pytest.fixture
def app(receiver, isolated_homes, monkeypatch):
    """An application with its own provider, resource and exporter, then staso configured."""
    monkeypatch.setenv("STASO_WORKSPACE", "acme")
    monkeypatch.setenv("STASO_PROJECT_NAME", "triage")
    own = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource({"service.name": "shop-api"}))
    provider.add_span_processor(SimpleSpanProcessor(own))

    def configure(**kwargs):
        staso_otel.configure(
            agent="triage-bot",
            endpoint=receiver.endpoint,
            api_key="k-test",
            tracer_provider=provider,
            **kwargs,
        )

    yield provider, own, configure
    provider.shutdown()
    config.reset()


def names(spans) -> set[str]:
    return {s["name"] for s in spans}


def test_an_app_span_outside_a_turn_is_not_exported_to_staso(app, receiver):
    provider, own, configure = app
    configure()
    tracer = provider.get_tracer("shop")
    with tracer.start_as_current_span("GET /cart"):
        pass
    with staso_otel.turn("hi", session_id="s-1") as turn:
        turn.set_response("hello")
    provider.force_flush()
    assert names(receiver.spans) == {"invoke_agent triage-bot"}
    assert {s.name for s in own.get_finished_spans()} == {"GET /cart", "invoke_agent triage-bot"}


def test_export_all_sends_the_app_spans_too(app, receiver):
    provider, _, configure = app
    configure(export_all=True)
    with provider.get_tracer("shop").start_as_current_span("GET /cart"):
        pass
    provider.force_flush()
    assert names(receiver.spans) == {"GET /cart"}


def test_a_raw_span_inside_a_turn_carries_its_session_and_user(app, receiver):
    provider, own, configure = app
    configure()
    tracer = provider.get_tracer("openinference.instrumentation.openai")
    with (
        staso_otel.turn("hi", session_id="s-2", user_id="u-7"),
        tracer.start_as_current_span("ChatCompletion"),
        tracer.start_as_current_span("deeper"),
    ):
        pass
    provider.force_flush()
    by_name = {s["name"]: s for s in receiver.spans}
    for name in ("ChatCompletion", "deeper"):
        assert by_name[name]["attributes"][semconv.SESSION_ID] == "s-2"
        assert by_name[name]["attributes"][semconv.USER_ID] == "u-7"
    assert by_name["invoke_agent triage-bot"]["attributes"][semconv.USER_ID] == "u-7"
    # the application's own exporter got the same spans
    assert {s.name for s in own.get_finished_spans()} == set(by_name)


def test_staso_resource_reaches_the_backend_and_the_app_keeps_its_own(app, receiver):
    provider, own, configure = app
    configure()
    with (
        staso_otel.turn("hi", session_id="s-3"),
        provider.get_tracer("x").start_as_current_span("inner"),
    ):
        pass
    provider.force_flush()
    for span in receiver.spans:
        assert span["resource"][semconv.STASO_WORKSPACE] == "acme"
        assert span["resource"][semconv.OPENINFERENCE_PROJECT_NAME] == "triage"
    assert all(
        s.resource.attributes["service.name"] == "shop-api" for s in own.get_finished_spans()
    )
    assert all(
        semconv.STASO_WORKSPACE not in s.resource.attributes for s in own.get_finished_spans()
    )


def turn_usage(receiver) -> dict:
    [root] = [s for s in receiver.spans if s["parent_span_id"] is None]
    attrs = root["attributes"]
    return {
        "in": attrs.get(semconv.STASO_USAGE_INPUT_TOKENS),
        "out": attrs.get(semconv.STASO_USAGE_OUTPUT_TOKENS),
        "calls": attrs.get(semconv.STASO_USAGE_MODEL_CALLS),
    }


def test_an_instrumentation_llm_span_adds_its_usage_to_the_turn(app, receiver):
    provider, _, configure = app
    configure()
    tracer = provider.get_tracer("opentelemetry.instrumentation.openai_v2")
    with staso_otel.turn("hi", session_id="s-4"):
        with staso_otel.llm_call("gpt-5") as call:
            call.set_usage(100, 10)
        with tracer.start_as_current_span("chat gpt-5") as span:
            span.set_attribute(semconv.GEN_AI_USAGE_INPUT_TOKENS, 40)
            span.set_attribute(semconv.GEN_AI_USAGE_OUTPUT_TOKENS, 4)
        with tracer.start_as_current_span("ChatCompletion") as span:  # OpenInference names
            span.set_attribute(semconv.LLM_TOKEN_COUNT_PROMPT, 7)
            span.set_attribute(semconv.LLM_TOKEN_COUNT_COMPLETION, 3)
    provider.force_flush()
    assert turn_usage(receiver) == {"in": 147, "out": 17, "calls": 3}


def test_nothing_is_counted_twice(app, receiver):
    provider, _, configure = app
    configure()
    tracer = provider.get_tracer("instr")
    with staso_otel.turn("hi", session_id="s-5"):
        # an instrumented client call inside staso's own llm_call: the llm_call's usage counts
        with staso_otel.llm_call("gpt-5") as call:
            call.set_usage(100, 10)
            with tracer.start_as_current_span("chat gpt-5") as span:
                span.set_attribute(semconv.GEN_AI_USAGE_INPUT_TOKENS, 100)
                span.set_attribute(semconv.GEN_AI_USAGE_OUTPUT_TOKENS, 10)
        # two instrumentations of one request (framework span around the client span)
        with tracer.start_as_current_span("agent.run") as outer:
            with tracer.start_as_current_span("chat gpt-5") as inner:
                inner.set_attribute(semconv.GEN_AI_USAGE_INPUT_TOKENS, 20)
                inner.set_attribute(semconv.GEN_AI_USAGE_OUTPUT_TOKENS, 2)
            outer.set_attribute(semconv.LLM_TOKEN_COUNT_PROMPT, 20)
            outer.set_attribute(semconv.LLM_TOKEN_COUNT_COMPLETION, 2)
    provider.force_flush()
    assert turn_usage(receiver) == {"in": 120, "out": 12, "calls": 2}


def test_usage_outside_a_turn_and_without_staso_counts_nowhere(receiver):
    """A staso-less process: instrumentation spans export as before, nothing added."""
    own = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(own))
    with provider.get_tracer("instr").start_as_current_span("chat gpt-5") as span:
        span.set_attribute(semconv.GEN_AI_USAGE_INPUT_TOKENS, 5)
    [span] = own.get_finished_spans()
    assert semconv.SESSION_ID not in span.attributes
    assert span.attributes[semconv.GEN_AI_USAGE_INPUT_TOKENS] == 5


def test_another_instrumentations_span_of_the_same_request_is_not_exported_twice(app, receiver):
    """A model span right inside or right around staso's chat span is the same request."""
    provider, own, configure = app
    configure()
    tracer = provider.get_tracer("openinference.instrumentation.openai")
    with staso_otel.turn("hi", session_id="s-dup"):
        with staso_otel.llm_call("gpt-5") as call:
            call.set_usage(100, 10)
            with tracer.start_as_current_span("ChatCompletion") as inner:
                inner.set_attribute(semconv.OPENINFERENCE_SPAN_KIND, semconv.OI_KIND_LLM)
                inner.set_attribute(semconv.LLM_TOKEN_COUNT_PROMPT, 100)
                with tracer.start_as_current_span("POST /v1/chat/completions"):
                    pass  # not a model span: kept
        with tracer.start_as_current_span("chat gpt-5") as outer:  # instrumented outside staso's
            outer.set_attribute(semconv.GEN_AI_OPERATION_NAME, semconv.OP_CHAT)
            outer.set_attribute(semconv.GEN_AI_USAGE_INPUT_TOKENS, 30)
            with staso_otel.llm_call("gpt-5") as call:
                call.set_usage(30, 3)
        with tracer.start_as_current_span("chat gpt-4o") as alone:  # no staso span: kept
            alone.set_attribute(semconv.GEN_AI_OPERATION_NAME, semconv.OP_CHAT)
            alone.set_attribute(semconv.GEN_AI_USAGE_INPUT_TOKENS, 5)
    provider.force_flush()
    assert sorted(s["name"] for s in receiver.spans) == [
        "POST /v1/chat/completions",
        "chat gpt-4o",
        "chat gpt-5",
        "chat gpt-5",
        "invoke_agent triage-bot",
    ]
    assert {s["scope"] for s in receiver.spans if s["name"] == "chat gpt-5"} == {"staso"}
    assert turn_usage(receiver) == {"in": 135, "out": 13, "calls": 3}
    assert len(own.get_finished_spans()) == 7  # the application's own exporter sees all


def test_spans_on_the_apps_provider_share_one_merged_resource(isolated_homes, monkeypatch):
    # the merge validates every resource attribute again: once per resource, not per span
    monkeypatch.setenv("STASO_WORKSPACE", "acme")
    own = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource({"service.name": "shop-api"}))
    provider.add_span_processor(SimpleSpanProcessor(own))
    staso = InMemorySpanExporter()
    try:
        staso_otel.configure(agent="triage-bot", exporter=staso, tracer_provider=provider)
        for n in range(2):
            with staso_otel.turn("hi", session_id=f"s-{n}"), staso_otel.tool_call("ls"):
                pass
        spans = staso.get_finished_spans()
        assert len(spans) == 4 and len({id(s.resource) for s in spans}) == 1
        attrs = spans[0].resource.attributes
        assert attrs["service.name"] == "triage-bot" and attrs[semconv.STASO_WORKSPACE] == "acme"
        assert {s.resource.attributes["service.name"] for s in own.get_finished_spans()} == {
            "shop-api"
        }
    finally:
        provider.shutdown()
        config.reset()
