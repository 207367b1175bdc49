"""One instrumented model request: its `chat {model}` span, in the turn or its own. [instrument]

The SDK method is wrapped, never the HTTP layer, so the span has what the request and the
response say (model, messages, usage, ids) and ends when the answer is complete: after
`create()` returns, or, for a stream, when it is read to the end, closed, cut off, or
dropped. Its scopes (`llm_call`, and a `turn` when none is open) are entered and left in
a private copy of the caller's context, so a stream read later, in another task or
thread, ends them without touching the caller's context; the request runs in that copy
too, so the spans it starts (HTTP, another instrumentation) are children of the chat span.
A request that raises marks the span ERROR with `error.type` = the SDK's error class and
the error propagates unchanged; staso's own failures are logged and never reach the
caller (`log.internal_error`).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import inspect
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import Any

from staso_otel import log
from staso_otel.api.nested import CURRENT_TURN
from staso_otel.api.spans import LLMCall, Turn
from staso_otel.span import build
from staso_otel.span.messages import Message, Part

WRAPPED = "__staso_wrapped__"  # marks our wrappers: instrumenting twice wraps once
# set while a wrapped method runs: a method it calls (a client-level wrapper over a
# class-level one, `stream()` calling `create()`) adds no second span
_ACTIVE: contextvars.ContextVar[bool] = contextvars.ContextVar("staso_instrumented", default=False)


# --- reading SDK objects -------------------------------------------------------------------


def get(obj: Any, key: str) -> Any:
    """A field of an SDK object, or of the dict a caller passed in its place."""
    if isinstance(obj, dict):
        return obj.get(key)
    return getattr(obj, key, None)


def as_int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def as_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


@dataclass
class Request:
    """What a request asks, in staso's terms (each SDK module reads its own kwargs)."""

    model: str
    provider: str
    messages: list[Message] | None
    system: tuple[Part, ...] | None = None
    stream: bool = False


@dataclass
class Answer:
    """What came back, complete or as far as a stream got."""

    output: list[Message] = field(default_factory=list)
    usage: build.Usage | None = None
    response_id: str | None = None
    response_model: str | None = None
    finish_reasons: list[str] | None = None


class Call:
    """The scopes of one request, entered in a private context and left exactly once."""

    def __init__(self, request: Request) -> None:
        self._ctx = contextvars.copy_context()
        self._scopes: list[Any] = []
        self._done = False
        self.request = request
        self._llm: LLMCall | None = None
        self._ctx.run(self._enter)

    def _enter(self) -> None:
        _ACTIVE.set(True)
        request = self.request
        try:
            if CURRENT_TURN.get() is None:  # no turn open: the request is a turn of its own
                prompt = _last_user_text(request.messages)
                turn = Turn(prompt, model=request.model, provider=request.provider)
                self._scopes.append(turn)
                turn.__enter__()
            self._llm = LLMCall(
                request.model,
                provider=request.provider,
                input_messages=request.messages,
                system_instructions=request.system,
            )
            self._scopes.append(self._llm)
            self._llm.__enter__()
        except Exception:
            log.internal_error("instrument")

    def run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call the SDK method inside the request's context."""
        return self._ctx.run(fn, *args, **kwargs)

    def awaiting(self, coro: Awaitable[Any]) -> Awaitable[Any]:
        return _InContext(coro, self._ctx)

    def finish(self, answer: Answer | None, exc: BaseException | None = None) -> None:
        if self._done:
            return
        self._done = True
        try:
            self._ctx.run(self._exit, answer, exc)
        except Exception:
            log.internal_error("instrument")

    def _exit(self, answer: Answer | None, exc: BaseException | None) -> None:
        llm = self._llm
        if llm is not None and answer is not None:
            if answer.usage is not None:
                llm.usage = answer.usage
            llm.set_response(
                answer.output or None,
                response_id=answer.response_id,
                response_model=answer.response_model,
                finish_reasons=answer.finish_reasons,
            )
        exc_info = (type(exc), exc, exc.__traceback__) if exc is not None else (None, None, None)
        for scope in reversed(self._scopes):
            if isinstance(scope, Turn) and answer is not None and answer.output:
                text = "\n".join(m.text for m in answer.output if m.text)
                scope.set_response(text or None)
            scope.__exit__(*exc_info)


def _last_user_text(messages: list[Message] | None) -> str | None:
    for message in reversed(messages or []):
        if message.role == "user" and message.text:
            return message.text
    return None


class _InContext:
    """Await a coroutine with every step of it run in `ctx` (the async form of ctx.run)."""

    def __init__(self, coro: Awaitable[Any], ctx: contextvars.Context) -> None:
        self._coro = coro.__await__()
        self._ctx = ctx

    def __await__(self) -> Generator[Any, Any, Any]:
        send, throw = self._coro.send, self._coro.throw
        value: Any = None
        error: BaseException | None = None
        while True:
            try:
                if error is not None:
                    signal = self._ctx.run(throw, error)
                else:
                    signal = self._ctx.run(send, value)
            except StopIteration as stop:
                return stop.value
            try:
                value, error = (yield signal), None
            except BaseException as raised:  # cancellation and the like go to the coroutine
                value, error = None, raised


# --- streams -------------------------------------------------------------------------------


class Collector:
    """Reads a stream's events as they pass; `answer()` is what they added up to."""

    def add(self, event: Any) -> None:
        raise NotImplementedError

    def answer(self) -> Answer:
        raise NotImplementedError


def _observe(collector: Collector, event: Any) -> None:
    try:
        collector.add(event)
    except Exception:
        log.internal_error("instrument")


def _answer(collector: Collector) -> Answer | None:
    try:
        return collector.answer()
    except Exception:
        log.internal_error("instrument")
        return None


def _on_drop(stream: Any, call: Call) -> None:
    """A stream dropped unread never runs its generator's `finally`: end the span then."""
    # an object that takes no weak reference: its span ends when it is read or closed
    with contextlib.suppress(TypeError):
        weakref.finalize(stream, call.finish, None)


def watch_stream(stream: Any, call: Call, collector: Collector) -> Any:
    """Make the SDK's own stream object (sync) end the call when it is done, in place:
    the same object goes back to the caller, so its type and helpers are untouched."""

    inner: Iterator[Any] = stream._iterator

    def events() -> Iterator[Any]:
        error: BaseException | None = None
        try:
            for event in inner:
                _observe(collector, event)
                yield event
        except BaseException as raised:  # a stream cut off mid-way, or the reader's break
            error = None if isinstance(raised, GeneratorExit) else raised
            raise
        finally:
            call.finish(_answer(collector), error)

    watched = events()
    stream.__dict__["_iterator"] = watched  # a plain or a cached attribute in either SDK
    close = stream.close

    @functools.wraps(close)
    def closing(*args: Any, **kwargs: Any) -> Any:
        try:
            return close(*args, **kwargs)
        finally:
            watched.close()  # ends the span if reading stopped before the end

    stream.close = closing
    _on_drop(stream, call)
    return stream


def watch_async_stream(stream: Any, call: Call, collector: Collector) -> Any:
    inner: AsyncIterator[Any] = stream._iterator

    async def events() -> AsyncIterator[Any]:
        error: BaseException | None = None
        try:
            async for event in inner:
                _observe(collector, event)
                yield event
        except BaseException as raised:
            error = None if isinstance(raised, GeneratorExit) else raised
            raise
        finally:
            call.finish(_answer(collector), error)

    watched = events()
    stream.__dict__["_iterator"] = watched
    close = stream.close

    @functools.wraps(close)
    async def closing(*args: Any, **kwargs: Any) -> Any:
        try:
            return await close(*args, **kwargs)
        finally:
            await watched.aclose()

    stream.close = closing
    _on_drop(stream, call)
    return stream


# --- wrapping SDK methods ------------------------------------------------------------------

Read = Callable[[dict[str, Any]], Request | None]
Respond = Callable[[Any], Answer]
Collect = Callable[[], Collector]


@dataclass(frozen=True)
class Method:
    """How to read one SDK method: its request, its answer, its stream's events."""

    read: Read
    respond: Respond
    collect: Collect
    streams: tuple[type, ...] = ()  # the SDK's stream classes, known once it is imported


def _start(method: Method, kwargs: dict[str, Any]) -> Call | None:
    if _ACTIVE.get():
        return None
    try:
        request = method.read(kwargs)
        return Call(request) if request is not None else None
    except Exception:
        log.internal_error("instrument")
        return None


def _respond(method: Method, result: Any) -> Answer | None:
    try:
        return method.respond(result)
    except Exception:
        log.internal_error("instrument")
        return None


def _sdk_stream(result: Any, streams: tuple[type, ...]) -> Any:
    """The SDK's stream object in `result`, if it is one: as it is, or inside the wrapper
    another instrumentation put around it (opentelemetry-instrumentation-openai-v2's
    keeps it in `.stream`; a wrapt proxy passes isinstance through)."""
    for _ in range(4):  # bounded: wrappers of wrappers
        if result is None or isinstance(result, streams):
            return result
        result = getattr(result, "stream", None) or getattr(result, "__wrapped__", None)
    return None


def _settle(method: Method, call: Call, result: Any, is_async: bool) -> Any:
    """The result goes back to the caller as it came; a stream ends the call when done."""
    stream = _sdk_stream(result, method.streams)
    if stream is not None:
        watch = watch_async_stream if is_async else watch_stream
        watch(stream, call, method.collect())
        return result
    call.finish(_respond(method, result))
    return result


async def _later(method: Method, call: Call, pending: Awaitable[Any]) -> Any:
    try:
        result = await call.awaiting(pending)
    except BaseException as exc:
        call.finish(None, exc)
        raise
    return _settle(method, call, result, is_async=True)


def wrap(original: Callable[..., Any], method: Method) -> Callable[..., Any]:
    """An SDK method that traces each call. The async clients' methods are plain functions
    that return a coroutine (the SDK's argument checks wrap them): the call's span waits
    for it, whatever kind of function made it."""
    if getattr(original, WRAPPED, False):
        return original

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        call = _start(method, kwargs)
        if call is None:
            return original(*args, **kwargs)
        try:
            result = call.run(original, *args, **kwargs)
        except BaseException as exc:
            call.finish(None, exc)
            raise
        if inspect.isawaitable(result):
            return _later(method, call, result)
        return _settle(method, call, result, is_async=False)

    setattr(wrapper, WRAPPED, True)
    return wrapper


def patch(owner: Any, name: str, method: Method) -> None:
    """Replace `owner.name` (a class, or one client's resource object) with its wrapper."""
    original = getattr(owner, name)
    if getattr(original, WRAPPED, False):
        return
    setattr(owner, name, wrap(original, method))
