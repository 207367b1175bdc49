"""What runs inside a staso turn: other instrumentations' spans, on any TracerProvider. [api]

`TurnProcessor` wraps the processor staso exports through. On an application's own
provider it forwards only staso's spans and the spans started inside a staso turn (unless
`export_all`), with staso's resource merged over the application's, so unrelated
application spans never go to staso's endpoint and staso's project and workspace reach
it. Every span started inside a turn gets the turn's `session.id` (and `user.id`), and an
instrumentation's LLM span that reports usage (gen_ai.usage.* or llm.token_count.*) adds
to the turn's totals, once: not when it sits under one of staso's own `llm_call` spans
(that call's usage is the authority) and not when a span nested in it was already counted.
Another instrumentation's model span right around or right inside one of staso's chat
spans (openinference, opentelemetry-instrumentation-openai-v2, the Anthropic SDK's own
span, next to `instrument_openai()`) is the same request twice: staso does not export it.
"""

from __future__ import annotations

import contextvars
import threading
from dataclasses import dataclass, field
from typing import Any, Protocol

from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.trace import SpanKind

from staso_otel import log, semconv
from staso_otel.span import build

STASO_SCOPE = "staso"
# a bound on spans started but never ended (a dropped span must not grow memory forever)
MAX_TRACKED = 100_000


class TurnLike(Protocol):
    session_id: str
    user_id: str | None
    nested: NestedState

    def add_usage(self, usage: build.Usage) -> None: ...


@dataclass
class NestedState:
    """Per turn: which spans are staso's llm_calls, and which spans' usage must not count."""

    llm_spans: set[int] = field(default_factory=set)
    under_llm: set[int] = field(default_factory=set)
    counted_below: set[int] = field(default_factory=set)
    parents: dict[int, int | None] = field(default_factory=dict)
    llm_parents: set[int] = field(default_factory=set)  # spans a staso chat span started in


CURRENT_TURN: contextvars.ContextVar[TurnLike | None] = contextvars.ContextVar(
    "staso_turn", default=None
)

# (input, output, cache read, cache write, reasoning): GenAI semconv first, then OpenInference
_USAGE_KEYS = (
    (
        semconv.GEN_AI_USAGE_INPUT_TOKENS,
        semconv.GEN_AI_USAGE_OUTPUT_TOKENS,
        semconv.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
        semconv.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
        semconv.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
    ),
    (
        semconv.LLM_TOKEN_COUNT_PROMPT,
        semconv.LLM_TOKEN_COUNT_COMPLETION,
        semconv.LLM_TOKEN_COUNT_PROMPT_CACHE_READ,
        semconv.LLM_TOKEN_COUNT_PROMPT_CACHE_WRITE,
        semconv.LLM_TOKEN_COUNT_COMPLETION_REASONING,
    ),
)


def _int(attrs: Any, key: str) -> int:
    value = attrs.get(key)
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else 0


def usage_of(attrs: Any) -> build.Usage | None:
    """Token usage an instrumentation reported on its span, if it reported any."""
    for keys in _USAGE_KEYS:
        if keys[0] in attrs or keys[1] in attrs:
            return build.Usage(*(_int(attrs, key) for key in keys))
    return None


_MODEL_OPERATIONS = frozenset({semconv.OP_CHAT, "text_completion", "generate_content"})


def _is_model_span(attrs: Any) -> bool:
    """A model request as another instrumentation reports it (either dialect)."""
    return (
        attrs.get(semconv.GEN_AI_OPERATION_NAME) in _MODEL_OPERATIONS
        or attrs.get(semconv.OPENINFERENCE_SPAN_KIND) == semconv.OI_KIND_LLM
    )


def with_resource(span: ReadableSpan, resource: Resource) -> ReadableSpan:
    """A copy of a finished span under another resource (the application's exporters keep
    the original: the same span object goes to every processor)."""
    return ReadableSpan(
        name=span.name,
        context=span.get_span_context(),
        parent=span.parent,
        resource=resource,
        attributes=span.attributes,
        events=span.events,
        links=span.links,
        kind=span.kind,
        status=span.status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


class TurnProcessor(SpanProcessor):
    def __init__(
        self,
        delegate: SpanProcessor,
        *,
        only_turns: bool,
        resource: Resource | None = None,
    ) -> None:
        self._delegate = delegate
        self._only_turns = only_turns
        self._resource = resource
        self._lock = threading.Lock()
        self._inside: dict[tuple[int, int], TurnLike] = {}
        self._last_merge: tuple[Resource, Resource] | None = None
        # staso's tracer's scope: one object for all its spans, told apart by identity
        self._staso_scope: object = None

    def _is_staso(self, span: ReadableSpan) -> bool:
        scope = span.instrumentation_scope
        if scope is self._staso_scope:
            return True
        if scope is not None and scope.name == STASO_SCOPE:
            self._staso_scope = scope
            return True
        return False

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        try:
            self._track(span)
        except Exception:
            log.internal_error("api")
        self._delegate.on_start(span, parent_context)

    def _track(self, span: Span) -> None:
        turn = CURRENT_TURN.get()
        if turn is None:
            return
        span_id = span.get_span_context().span_id
        parent_context = span.parent
        parent = parent_context.span_id if parent_context is not None else None
        nested = turn.nested
        # one dict or set operation at a time, each whole under the GIL: no lock
        nested.parents[span_id] = parent
        if parent in nested.llm_spans or parent in nested.under_llm:
            nested.under_llm.add(span_id)
        if self._is_staso(span):  # never counted or dropped at end
            if parent is not None and span.kind is SpanKind.CLIENT:
                nested.llm_parents.add(parent)
            return
        span.set_attribute(semconv.SESSION_ID, turn.session_id)
        if turn.user_id:
            span.set_attribute(semconv.USER_ID, turn.user_id)
        with self._lock:
            # only other instrumentations' spans are counted or dropped at end
            if len(self._inside) >= MAX_TRACKED:
                self._inside.pop(next(iter(self._inside)))
            self._inside[(span.get_span_context().trace_id, span_id)] = turn

    def on_end(self, span: ReadableSpan) -> None:
        if self._is_staso(span):
            if self._resource is None:  # staso's own provider: the common case, no call
                self._delegate.on_end(span)
            else:
                self._export(span)
            return
        context = span.get_span_context()
        with self._lock:
            turn = self._inside.pop((context.trace_id, context.span_id), None)
        if turn is not None:
            try:
                if self._duplicate(turn, span):
                    return  # staso's own chat span is this request: once is enough
                self._count(turn, span)
            except Exception:
                log.internal_error("api")
        elif self._only_turns:
            return  # an application span outside any turn: not staso's to export
        self._export(span)

    def _export(self, span: ReadableSpan) -> None:
        if self._resource is not None:
            span = with_resource(span, self._merged(span.resource))
        self._delegate.on_end(span)

    def _merged(self, resource: Resource) -> Resource:
        """The application's resource with staso's over it, merged once per resource (a
        merge validates every attribute again; spans of a provider share one resource)."""
        last = self._last_merge
        if last is not None and last[0] is resource:
            return last[1]
        merged = resource.merge(self._resource)  # type: ignore[arg-type]
        self._last_merge = (resource, merged)
        return merged

    def _duplicate(self, turn: TurnLike, span: ReadableSpan) -> bool:
        nested = turn.nested
        parent = span.parent.span_id if span.parent is not None else None
        around = span.get_span_context().span_id in nested.llm_parents
        if not (around or parent in nested.llm_spans):
            return False
        return _is_model_span(span.attributes or {})

    def _count(self, turn: TurnLike, span: ReadableSpan) -> None:
        usage = usage_of(span.attributes or {})
        if usage is None:
            return
        span_id = span.get_span_context().span_id
        nested = turn.nested
        with self._lock:
            if span_id in nested.under_llm or span_id in nested.counted_below:
                return  # staso's llm_call, or a span nested in this one, already has it
            ancestor = nested.parents.get(span_id)
            for _ in range(1000):  # bounded walk up to the turn
                if ancestor is None:
                    break
                nested.counted_below.add(ancestor)
                ancestor = nested.parents.get(ancestor)
        turn.add_usage(usage)

    def shutdown(self) -> None:
        self._delegate.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._delegate.force_flush(timeout_millis)
