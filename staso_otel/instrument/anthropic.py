"""`instrument_anthropic()`: messages calls of the Anthropic SDK. [instrument]

`messages.create` (plain and `stream=True`) and `messages.stream()` (a context manager
whose request is sent on enter), sync and async. Reads the request's messages and
`system`, and the answer's text, thinking and tool_use blocks, stop reason (as on a
Claude Code span: `end_turn`, `tool_use`, ...), id, model and usage. Anthropic's
`input_tokens` leaves out cached input; the GenAI conventions' includes it, so cache
reads and writes are added back, as for Claude Code.

The SDK's own OpenTelemetry span of the same call (`anthropic.messages.create`) starts
inside staso's chat span; staso does not export it (api/nested.py: one span per request).
"""

from __future__ import annotations

import functools
import json
from dataclasses import replace
from typing import Any

from staso_otel import log
from staso_otel import semconv as sc
from staso_otel.instrument import _call
from staso_otel.instrument._call import Answer, Collector, Method, Request, as_int, as_str, get
from staso_otel.span import build
from staso_otel.span.messages import (
    Message,
    Part,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    ToolCallResponsePart,
)

_NOT_INSTALLED = (
    "instrument_anthropic() needs the anthropic package: pip install 'staso[anthropic]'"
)


def _blocks(content: Any) -> list[Any]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    return list(content) if isinstance(content, (list, tuple)) else []


def _parts(blocks: list[Any]) -> list[Part]:
    parts: list[Part] = []
    for block in blocks:
        kind = get(block, "type")
        if kind == "text" and as_str(get(block, "text")):
            parts.append(TextPart(get(block, "text")))
        elif kind == "thinking" and as_str(get(block, "thinking")):
            parts.append(ReasoningPart(get(block, "thinking")))
        elif kind in ("tool_use", "server_tool_use"):
            parts.append(
                ToolCallPart(get(block, "id"), str(get(block, "name") or ""), get(block, "input"))
            )
    return parts


def _tool_result(block: Any) -> ToolCallResponsePart:
    content = get(block, "content")
    if isinstance(content, (list, tuple)):  # text blocks: their text
        texts = [get(b, "text") for b in content if get(b, "type") == "text"]
        content = "\n".join(t for t in texts if isinstance(t, str))
    return ToolCallResponsePart(get(block, "tool_use_id"), content)


def _messages(raw: Any) -> list[Message] | None:
    if not isinstance(raw, (list, tuple)):
        return None
    out: list[Message] = []
    for item in raw:
        role = str(get(item, "role") or sc.ROLE_USER)
        blocks = _blocks(get(item, "content"))
        results = [b for b in blocks if get(b, "type") == "tool_result"]
        if results:  # a user turn of tool results: tool messages, as the conventions have them
            out.extend(Message(sc.ROLE_TOOL, (_tool_result(b),)) for b in results)
        parts = _parts([b for b in blocks if get(b, "type") != "tool_result"])
        if parts or not results:
            out.append(Message(role, tuple(parts)))
    return out or None


def _system(raw: Any) -> tuple[Part, ...] | None:
    parts = _parts(_blocks(raw))
    return tuple(parts) or None


def read(kwargs: dict[str, Any]) -> Request:
    return Request(
        str(kwargs.get("model") or ""),
        sc.PROVIDER_ANTHROPIC,
        _messages(kwargs.get("messages")),
        _system(kwargs.get("system")),
        bool(kwargs.get("stream")),
    )


def _usage(usage: Any) -> build.Usage | None:
    if usage is None:
        return None
    return build.Usage.anthropic(
        as_int(get(usage, "input_tokens")),
        as_int(get(usage, "output_tokens")),
        as_int(get(usage, "cache_read_input_tokens")),
        as_int(get(usage, "cache_creation_input_tokens")),
        as_int(get(get(usage, "output_tokens_details"), "thinking_tokens")),
    )


def respond(result: Any) -> Answer:
    stop = as_str(get(result, "stop_reason"))
    parts = _parts(_blocks(get(result, "content")))
    return Answer(
        output=[Message(sc.ROLE_ASSISTANT, tuple(parts), stop)] if parts or stop else [],
        usage=_usage(get(result, "usage")),
        response_id=as_str(get(result, "id")),
        response_model=as_str(get(result, "model")),
        finish_reasons=[stop] if stop else None,
    )


class MessagesCollector(Collector):
    """Raw stream events: message_start, content blocks and their deltas, message_delta
    with the stop reason and the final usage (it repeats the input counts, or leaves
    them to message_start)."""

    def __init__(self) -> None:
        self.message: Any = None
        self.blocks: dict[int, dict[str, Any]] = {}
        self.usage: dict[str, int] = {}
        self.stop: str | None = None

    def _take_usage(self, usage: Any) -> None:
        for key in (
            "input_tokens",
            "output_tokens",
            "cache_read_input_tokens",
            "cache_creation_input_tokens",
        ):
            value = get(usage, key)
            if isinstance(value, int):
                self.usage[key] = value
        thinking = get(get(usage, "output_tokens_details"), "thinking_tokens")
        if isinstance(thinking, int):
            self.usage["thinking"] = thinking

    def add(self, event: Any) -> None:
        kind = get(event, "type")
        index = as_int(get(event, "index"))
        if kind == "message_start":
            self.message = get(event, "message")
            self._take_usage(get(self.message, "usage"))
        elif kind == "content_block_start":
            block = get(event, "content_block")
            self.blocks[index] = {
                "type": get(block, "type"),
                "id": get(block, "id"),
                "name": get(block, "name"),
                "text": [get(block, "text") or get(block, "thinking") or ""],
                "json": [],
            }
        elif kind == "content_block_delta" and index in self.blocks:
            delta = get(event, "delta")
            piece = get(delta, "text") or get(delta, "thinking")
            if isinstance(piece, str):
                self.blocks[index]["text"].append(piece)
            partial = get(delta, "partial_json")
            if isinstance(partial, str):
                self.blocks[index]["json"].append(partial)
        elif kind == "message_delta":
            self.stop = as_str(get(get(event, "delta"), "stop_reason")) or self.stop
            self._take_usage(get(event, "usage"))

    def answer(self) -> Answer:
        blocks = []
        for _, b in sorted(self.blocks.items()):
            text = "".join(b["text"])
            if b["type"] == "thinking":
                blocks.append({"type": "thinking", "thinking": text})
            elif b["type"] in ("tool_use", "server_tool_use"):
                raw = "".join(b["json"])
                try:
                    arguments = json.loads(raw) if raw else {}
                except ValueError:
                    arguments = raw  # cut off mid-way: what arrived
                blocks.append(
                    {"type": b["type"], "id": b["id"], "name": b["name"], "input": arguments}
                )
            else:
                blocks.append({"type": b["type"], "text": text})
        usage = dict(self.usage)
        details = {"thinking_tokens": usage.pop("thinking")} if "thinking" in usage else None
        answer = respond(
            {
                "id": get(self.message, "id"),
                "model": get(self.message, "model"),
                "content": blocks,
                "stop_reason": self.stop,
                "usage": {**usage, "output_tokens_details": details} if usage else None,
            }
        )
        return answer


MESSAGES = Method(read, respond, MessagesCollector)


class _StreamManager:
    """`messages.stream(...)`: the request goes out on enter; the chat span ends when the
    stream is read to the end or the block is left, whichever comes first."""

    def __init__(self, manager: Any, kwargs: dict[str, Any], method: Method) -> None:
        self._manager = manager
        self._kwargs = kwargs
        self._method = method

    def __getattr__(self, name: str) -> Any:
        return getattr(self._manager, name)

    def _call(self) -> _call.Call | None:
        return _call._start(self._method, {**self._kwargs, "stream": True})

    def __enter__(self) -> Any:
        call = self._call()
        if call is None:
            return self._manager.__enter__()
        try:
            stream = call.run(self._manager.__enter__)
        except BaseException as exc:
            call.finish(None, exc)
            raise
        _watch(stream, call, _call.watch_stream, self._method)
        return stream

    def __exit__(self, *exc: Any) -> Any:
        return self._manager.__exit__(*exc)

    async def __aenter__(self) -> Any:
        call = self._call()
        if call is None:
            return await self._manager.__aenter__()
        try:
            stream = await call.awaiting(call.run(self._manager.__aenter__))
        except BaseException as exc:
            call.finish(None, exc)
            raise
        _watch(stream, call, _call.watch_async_stream, self._method)
        return stream

    async def __aexit__(self, *exc: Any) -> Any:
        return await self._manager.__aexit__(*exc)


def _watch(stream: Any, call: _call.Call, watch: Any, method: Method) -> None:
    raw = getattr(stream, "_raw_stream", None)  # the SDK's MessageStream reads this one
    if raw is None or not hasattr(raw, "_iterator"):
        log.internal_error("instrument")
        call.finish(None)
        return
    watch(raw, call, method.collect())


def _wrap_stream(original: Any, method: Method) -> Any:
    if getattr(original, _call.WRAPPED, False):
        return original

    @functools.wraps(original)
    def stream(*args: Any, **kwargs: Any) -> Any:
        manager = original(*args, **kwargs)
        return manager if _call._ACTIVE.get() else _StreamManager(manager, kwargs, method)

    setattr(stream, _call.WRAPPED, True)
    return stream


def _import() -> Any:
    try:
        import anthropic
        from anthropic.resources.messages import messages
    except ImportError as exc:
        raise ImportError(_NOT_INSTALLED) from exc
    return anthropic, messages


def instrument(client: Any = None) -> None:
    """Trace every messages call: of all clients (no argument, also those made later), or
    of one client (`Anthropic`, `AsyncAnthropic`)."""
    anthropic, messages = _import()
    if client is None:
        owners: list[Any] = [messages.Messages, messages.AsyncMessages]
    elif isinstance(client, (anthropic.Anthropic, anthropic.AsyncAnthropic)):
        owners = [client.messages]
    else:
        raise TypeError(
            f"instrument_anthropic() takes an Anthropic client, not {type(client).__name__}"
        )
    method = replace(MESSAGES, streams=(anthropic.Stream, anthropic.AsyncStream))
    for owner in owners:
        _call.patch(owner, "create", method)
        if hasattr(owner, "stream"):
            owner.stream = _wrap_stream(owner.stream, method)
