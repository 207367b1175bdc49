"""Context managers and a decorator that trace your own agent with the hooks' span model. [api]

`turn` -> `llm_call` / `tool_call`, sync or async (`with` / `async with`), nested through
OpenTelemetry's context (contextvars: follows asyncio tasks, and threads started with a
copied context). Each scope starts a live SDK span, and at its end computes the
attributes with the same builders (`span/build.py`) and the same redaction and caps
(`span/redact.py`) as a traced Codex turn. The user's exceptions mark the span ERROR with
`error.type` and propagate; staso's own errors are logged and never reach the caller.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from staso_otel import log, semconv
from staso_otel.api.attributes import plain_keys, set_attributes
from staso_otel.api.config import Tracing, current
from staso_otel.api.nested import CURRENT_TURN, NestedState
from staso_otel.api.toolcalls import PendingToolCalls
from staso_otel.span import build
from staso_otel.span import messages as msgs
from staso_otel.span.redact import clean_scope

F = TypeVar("F", bound=Callable[..., Any])
_NO_USAGE = build.Usage()  # a turn's total before its first call (immutable: one for all)
_TURN: contextvars.ContextVar[Any] = CURRENT_TURN  # the turn a span starts in, if any
_attach, _detach, _in_context = otel_context.attach, otel_context.detach, trace.set_span_in_context


class _Scope:
    """Start a span on enter; on exit build its attributes, redact, set status, end it."""

    kind = semconv.KIND_INTERNAL
    _sdk_kind = SpanKind.INTERNAL

    def __init__(self, tracing: Tracing | None) -> None:
        self._tracing = tracing or current()
        self._span: trace.Span | None = None
        self._token: object = None  # the context this scope attached, detached at exit
        self._started_as = ""  # the span's name at start: renamed at the end only if it differs

    # -- subclasses -----------------------------------------------------------------------
    def _name(self) -> str:
        raise NotImplementedError

    def _build(self, frame: build.Frame) -> build.Closed:
        """The span in this frame: its agent, session, error and content setting (`_finish`)."""
        raise NotImplementedError

    def _on_enter(self) -> None:
        pass

    def _on_exit(self) -> None:
        pass

    def _plain_keys(self) -> bool:
        """Whether every key of the span is a non-empty str: the builders' own are, and
        only a scope that passes keys of the caller's says otherwise."""
        return True

    # -- protocol -------------------------------------------------------------------------
    @property
    def session_id(self) -> str | None:
        turn = _TURN.get()
        return turn.session_id if turn else None

    def __enter__(self) -> Any:
        try:
            self._started_as = name = self._name()
            self._span = span = self._tracing.tracer.start_span(name, kind=self._sdk_kind)
            self._token = _attach(_in_context(span))
            self._on_enter()
        except Exception:
            log.internal_error("api")
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> bool:
        try:
            self._finish(exc)
        except Exception:
            log.internal_error("api")
        finally:
            self._on_exit()
            if self._token is not None:
                _detach(self._token)  # type: ignore[arg-type]
                self._token = None
        return False  # the user's exception propagates

    async def __aenter__(self) -> Any:
        return self.__enter__()

    async def __aexit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> bool:
        return self.__exit__(exc_type, exc, tb)

    def _finish(self, exc: BaseException | None) -> None:
        span = self._span
        if span is None:
            return
        end_ns = time.time_ns()  # the user's work ends here, before staso's own
        tracing = self._tracing
        turn = _TURN.get()
        closed = self._build(
            build.Frame(
                # the live span has its own ids and times, and the builders read none
                0,
                0,
                0,
                0,
                turn.agent if turn else tracing.agent,
                turn._session_id if turn else None,
                None,
                type(exc).__name__ if exc is not None else None,
                str(exc) if exc is not None else None,
                tracing.capture_content,
            )
        )
        name, attributes, description, plain = clean_scope(
            closed.name,
            closed.attributes,
            closed.status_description,
            tracing.max_attribute_bytes,
            tracing.memo,
        )
        if name != self._started_as:
            span.update_name(name)
        set_attributes(span, attributes, checked=plain and self._plain_keys())
        if closed.status == semconv.STATUS_ERROR:
            span.set_status(Status(StatusCode.ERROR, description))
        span.end(end_time=end_ns)


class Turn(_Scope):
    """One turn of an agent: the root `invoke_agent {agent}` span."""

    def __init__(
        self,
        prompt: object = None,
        *,
        session_id: str | None = None,
        user_id: str | None = None,
        agent: str | None = None,
        agent_id: str | None = None,
        model: str | None = None,
        provider: str | None = None,
        tracing: Tracing | None = None,
    ) -> None:
        super().__init__(tracing)
        self.prompt = prompt
        self._session_id = session_id or str(uuid.uuid4())
        self.user_id = user_id
        self.nested = NestedState()  # what other instrumentations do inside this turn
        self.agent = agent or self._tracing.agent
        self.agent_id = agent_id
        self.model = model
        self.provider = provider or self._tracing.provider_name
        self.response: object = None
        self.usage = _NO_USAGE
        self.model_calls = 0
        self._turn_token: contextvars.Token | None = None
        self._tool_calls: PendingToolCalls | None = None  # made when a model asks for tools

    @property
    def tool_calls(self) -> PendingToolCalls:
        """The model's tool calls in this turn that no tool span has run yet."""
        if self._tool_calls is None:
            self._tool_calls = PendingToolCalls()
        return self._tool_calls

    @property
    def session_id(self) -> str:
        return self._session_id

    def set_response(self, response: object) -> None:
        self.response = response

    def add_usage(self, usage: build.Usage) -> None:
        """One model call's usage (staso's llm_call, or an instrumentation's LLM span)."""
        self.model_calls += 1
        # the first call's usage is the total as it is (a sum is a new frozen Usage)
        self.usage = usage if self.usage is _NO_USAGE else self.usage + usage

    def _name(self) -> str:
        return semconv.span_name(semconv.OP_INVOKE_AGENT, self.agent)

    def _on_enter(self) -> None:
        self._turn_token = _TURN.set(self)

    def _on_exit(self) -> None:
        if self._turn_token is not None:
            _TURN.reset(self._turn_token)
            self._turn_token = None

    def _build(self, frame: build.Frame) -> build.Closed:
        return build.turn(
            frame,
            agent_name=self.agent,
            agent_id=self.agent_id,
            provider=self.provider,
            model=self.model,
            prompt=self.prompt,
            response=self.response,
            usage=self.usage if self.model_calls else None,
            model_calls=self.model_calls,
            outcome=semconv.TURN_FAILED if frame.error_type else semconv.TURN_COMPLETED,
            extra={semconv.USER_ID: self.user_id} if self.user_id else None,
        )


class LLMCall(_Scope):
    """One model request: `chat {model}`, kind CLIENT; tokens live here."""

    kind = semconv.KIND_CLIENT
    _sdk_kind = SpanKind.CLIENT

    def __init__(
        self,
        model: str,
        *,
        provider: str | None = None,
        input_messages: object = None,
        system_instructions: str | list[msgs.Part] | tuple[msgs.Part, ...] | None = None,
        tracing: Tracing | None = None,
    ) -> None:
        super().__init__(tracing)
        self.model = model
        self.provider = provider or self._tracing.provider_name
        self.input_messages = input_messages
        self.system_instructions = (
            (msgs.TextPart(system_instructions),)
            if isinstance(system_instructions, str)
            else system_instructions or None
        )
        self.usage: build.Usage | None = None
        self.output: object = None
        self.response_id: str | None = None
        self.response_model: str | None = None
        self.finish_reasons: tuple[str, ...] | None = None

    def set_usage(
        self,
        input_tokens: int = 0,
        output_tokens: int = 0,
        *,
        cache_read_tokens: int = 0,
        cache_write_tokens: int = 0,
        reasoning_tokens: int = 0,
        total_tokens: int | None = None,
    ) -> None:
        self.usage = build.Usage(
            input_tokens,
            output_tokens,
            cache_read_tokens,
            cache_write_tokens,
            reasoning_tokens,
            total_tokens,
        )

    def set_response(
        self,
        output: object,
        *,
        response_id: str | None = None,
        response_model: str | None = None,
        finish_reasons: list[str] | tuple[str, ...] | None = None,
    ) -> None:
        self.output = output
        self.response_id = response_id
        self.response_model = response_model
        self.finish_reasons = tuple(finish_reasons) if finish_reasons else None

    def _name(self) -> str:
        return semconv.span_name(semconv.OP_CHAT, self.model)

    def _on_enter(self) -> None:
        turn = _TURN.get()
        if turn is not None and self._span is not None:
            # spans started under this call are not counted again: its usage is the authority
            turn.nested.llm_spans.add(self._span.get_span_context().span_id)

    def _on_exit(self) -> None:
        turn = _TURN.get()
        if turn is not None:
            if self.usage is not None:
                turn.add_usage(self.usage)
            else:
                turn.model_calls += 1
            if self.output is not None and not isinstance(self.output, str):
                # the tools this call asked for: the tool spans that run them take their ids
                turn.tool_calls.offer(msgs.coerce(self.output, semconv.ROLE_ASSISTANT) or ())

    def _build(self, frame: build.Frame) -> build.Closed:
        turn = _TURN.get()
        return build.chat(
            frame,
            request_model=self.model,
            provider=self.provider,
            response_model=self.response_model,
            response_id=self.response_id,
            usage=self.usage,
            input_messages=self.input_messages,
            output=self.output,
            system_instructions=self.system_instructions,
            finish_reasons=self.finish_reasons,
            agent_name=turn.agent if turn else None,
        )


class ToolCall(_Scope):
    """One tool call: `execute_tool {name}` with arguments, result and the tool's facts."""

    def __init__(
        self,
        name: str,
        arguments: object = None,
        *,
        call_id: str | None = None,
        category: str | None = None,
        description: str | None = None,
        tracing: Tracing | None = None,
    ) -> None:
        super().__init__(tracing)
        self.name = name
        self.arguments = arguments
        self.call_id = call_id
        self.category = category
        self.description = description
        self.result: object = None
        self.facts: dict[str, object] = {}

    def set_result(self, result: object) -> None:
        self.result = result

    def set_facts(self, facts: Mapping[str, object]) -> None:
        """Tool facts by semconv key, e.g. {semconv.STASO_SHELL_EXIT_CODE: 0}."""
        self.facts.update(facts)

    def _name(self) -> str:
        return semconv.span_name(semconv.OP_EXECUTE_TOOL, self.name)

    def _plain_keys(self) -> bool:
        return not self.facts or plain_keys(self.facts)

    def _on_enter(self) -> None:
        turn = _TURN.get()
        if turn is None or turn._tool_calls is None:
            return
        if self.call_id is None:
            self.call_id = turn.tool_calls.claim(self.name, self.arguments)
        else:
            turn.tool_calls.take(self.call_id)

    def _build(self, frame: build.Frame) -> build.Closed:
        return build.tool(
            frame,
            tool_name=self.name,
            call_id=self.call_id,
            category=self.category,
            arguments=self.arguments,
            result=self.result,
            description=self.description,
            facts=self.facts or None,
        )


def turn(prompt: object = None, **kwargs: Any) -> Turn:
    """`with staso_otel.turn("fix the bug", session_id=sid) as t: ... t.set_response(text)`"""
    return Turn(prompt, **kwargs)


def llm_call(model: str, **kwargs: Any) -> LLMCall:
    """`with staso_otel.llm_call("gpt-5") as call: ... call.set_usage(812, 64)`"""
    return LLMCall(model, **kwargs)


def tool_call(name: str, arguments: object = None, **kwargs: Any) -> ToolCall:
    """`with staso_otel.tool_call("search", {"q": q}) as t: ... t.set_result(hits)`"""
    return ToolCall(name, arguments, **kwargs)


def tool(fn: F | None = None, *, name: str | None = None, category: str | None = None) -> Any:
    """Decorate a tool function (sync or async): its bound arguments and return value
    become the span's arguments and result."""

    def wrap(func: F) -> F:
        signature = inspect.signature(func)
        tool_name = name or func.__name__

        def arguments(args: tuple, kwargs: dict) -> dict[str, Any]:
            try:
                bound = signature.bind(*args, **kwargs)
                bound.apply_defaults()
                return dict(bound.arguments)
            except TypeError:
                return {"args": list(args), **kwargs}

        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                async with ToolCall(tool_name, arguments(args, kwargs), category=category) as scope:
                    result = await func(*args, **kwargs)
                    scope.set_result(result)
                    return result

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with ToolCall(tool_name, arguments(args, kwargs), category=category) as scope:
                result = func(*args, **kwargs)
                scope.set_result(result)
                return result

        return wrapper  # type: ignore[return-value]

    return wrap(fn) if fn is not None else wrap
