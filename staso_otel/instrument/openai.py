"""`instrument_openai()`: chat.completions and responses calls of the OpenAI SDK. [instrument]

Chat Completions (`chat.completions.create`, and `.stream()`/`.parse()`, which call it)
and the Responses API (`responses.create`, and `.stream()`, which calls it), sync and
async, plain and streamed. Reads what the request and the answer say: messages (chat
dicts or the Responses API's input items, as dicts or the SDK's own objects), usage with
cached and reasoning tokens, the response id and model, finish reasons. A streamed chat
completion reports usage only when asked (`stream_options={"include_usage": True}`):
staso does not change the request to get it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

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
    arguments_value,
    coerce,
)

_NOT_INSTALLED = "instrument_openai() needs the openai package: pip install 'staso[openai]'"


def _model(kwargs: dict[str, Any]) -> str:
    return str(kwargs.get("model") or "")


def _text_of(content: Any) -> list[Part]:
    """A string, or a list of content parts ({type: text | input_text | output_text, text})."""
    if isinstance(content, str):
        return [TextPart(content)] if content else []
    parts: list[Part] = []
    for block in content if isinstance(content, list) else []:
        text = block if isinstance(block, str) else get(block, "text")
        if isinstance(text, str) and text:
            parts.append(TextPart(text))
    return parts


def _system_first(messages: list[Message] | None) -> tuple[list[Message] | None, tuple | None]:
    """Leading system/developer messages are the model's instructions, as on a Codex span."""
    if not messages:
        return messages, None
    head = 0
    while head < len(messages) and messages[head].role in ("system", "developer"):
        head += 1
    system = tuple(p for m in messages[:head] for p in m.parts)
    return messages[head:] or None, system or None


# --- Chat Completions ------------------------------------------------------------------------


def _chat_message(item: Any) -> Message:
    role = str(get(item, "role") or sc.ROLE_USER)
    if role == sc.ROLE_TOOL:
        response = ToolCallResponsePart(get(item, "tool_call_id"), get(item, "content"))
        return Message(role, (response,))
    parts = _text_of(get(item, "content"))
    for call in get(item, "tool_calls") or []:
        fn = get(call, "function")
        name = get(fn, "name") if fn is not None else get(call, "name")
        arguments = get(fn, "arguments") if fn is not None else None
        parts.append(ToolCallPart(get(call, "id"), str(name or ""), arguments_value(arguments)))
    return Message(role, tuple(parts))


def read_chat(kwargs: dict[str, Any]) -> Request:
    raw = kwargs.get("messages")
    messages = [_chat_message(m) for m in raw] if isinstance(raw, (list, tuple)) else None
    messages, system = _system_first(messages)
    return Request(_model(kwargs), sc.PROVIDER_OPENAI, messages, system, bool(kwargs.get("stream")))


def _chat_usage(usage: Any) -> build.Usage | None:
    if usage is None:
        return None
    return build.Usage(
        as_int(get(usage, "prompt_tokens")),
        as_int(get(usage, "completion_tokens")),
        as_int(get(get(usage, "prompt_tokens_details"), "cached_tokens")),
        0,
        as_int(get(get(usage, "completion_tokens_details"), "reasoning_tokens")),
        get(usage, "total_tokens") if isinstance(get(usage, "total_tokens"), int) else None,
    )


def respond_chat(result: Any) -> Answer:
    output, reasons = [], []
    for choice in get(result, "choices") or []:
        reason = as_str(get(choice, "finish_reason"))
        message = _chat_message(get(choice, "message") or {"role": sc.ROLE_ASSISTANT})
        output.append(Message(sc.ROLE_ASSISTANT, message.parts, reason))
        if reason:
            reasons.append(reason)
    return Answer(
        output=output,
        usage=_chat_usage(get(result, "usage")),
        response_id=as_str(get(result, "id")),
        response_model=as_str(get(result, "model")),
        finish_reasons=reasons or None,
    )


class ChatCollector(Collector):
    """Chunks of a streamed chat completion: text and tool-call fragments per choice."""

    def __init__(self) -> None:
        self.id: str | None = None
        self.model: str | None = None
        self.usage: Any = None
        self.text: dict[int, list[str]] = {}
        self.calls: dict[int, dict[int, dict[str, Any]]] = {}
        self.reasons: dict[int, str] = {}

    def add(self, chunk: Any) -> None:
        self.id = self.id or as_str(get(chunk, "id"))
        self.model = self.model or as_str(get(chunk, "model"))
        if get(chunk, "usage") is not None:
            self.usage = get(chunk, "usage")  # the last chunk, when include_usage was asked
        for choice in get(chunk, "choices") or []:
            index = as_int(get(choice, "index"))
            delta = get(choice, "delta")
            content = get(delta, "content")
            if isinstance(content, str) and content:
                self.text.setdefault(index, []).append(content)
            for piece in get(delta, "tool_calls") or []:
                call = self.calls.setdefault(index, {}).setdefault(
                    as_int(get(piece, "index")), {"id": None, "name": "", "arguments": []}
                )
                call["id"] = call["id"] or get(piece, "id")
                fn = get(piece, "function")
                call["name"] += get(fn, "name") or ""
                call["arguments"].append(get(fn, "arguments") or "")
            reason = as_str(get(choice, "finish_reason"))
            if reason:
                self.reasons[index] = reason

    def answer(self) -> Answer:
        output = []
        for index in sorted(set(self.text) | set(self.calls) | set(self.reasons)):
            parts: list[Part] = []
            if self.text.get(index):
                parts.append(TextPart("".join(self.text[index])))
            for _, call in sorted(self.calls.get(index, {}).items()):
                arguments = arguments_value("".join(call["arguments"]) or None)
                parts.append(ToolCallPart(call["id"], call["name"], arguments))
            output.append(Message(sc.ROLE_ASSISTANT, tuple(parts), self.reasons.get(index)))
        reasons = [self.reasons[i] for i in sorted(self.reasons)]
        return Answer(output, _chat_usage(self.usage), self.id, self.model, reasons or None)


# --- Responses API ---------------------------------------------------------------------------


def _response_items(items: Any) -> list[Message]:
    """Input or output items: messages, function calls and their outputs, reasoning."""
    out: list[Message] = []
    for item in items if isinstance(items, (list, tuple)) else []:
        kind = get(item, "type")
        if kind == "function_call":
            call = ToolCallPart(
                get(item, "call_id"),
                str(get(item, "name") or ""),
                arguments_value(get(item, "arguments")),
            )
            out.append(Message(sc.ROLE_ASSISTANT, (call,)))
        elif kind in ("function_call_output", "custom_tool_call_output"):
            response = ToolCallResponsePart(get(item, "call_id"), get(item, "output"))
            out.append(Message(sc.ROLE_TOOL, (response,)))
        elif kind == "custom_tool_call":
            call = ToolCallPart(
                get(item, "call_id"), str(get(item, "name") or ""), get(item, "input")
            )
            out.append(Message(sc.ROLE_ASSISTANT, (call,)))
        elif kind == "reasoning":
            summary = [get(s, "text") for s in get(item, "summary") or []]
            text = "\n".join(s for s in summary if isinstance(s, str) and s)
            if text:
                out.append(Message(sc.ROLE_ASSISTANT, (ReasoningPart(text),)))
        elif kind in (None, "message"):
            role = str(get(item, "role") or sc.ROLE_USER)
            out.append(Message(role, tuple(_text_of(get(item, "content")))))
    return out


def read_responses(kwargs: dict[str, Any]) -> Request:
    raw = kwargs.get("input")
    messages = coerce(raw, sc.ROLE_USER) if isinstance(raw, str) else _response_items(raw)
    messages, system = _system_first(messages or None)
    instructions = kwargs.get("instructions")
    if isinstance(instructions, str) and instructions:
        system = (TextPart(instructions), *(system or ()))
    return Request(_model(kwargs), sc.PROVIDER_OPENAI, messages, system, bool(kwargs.get("stream")))


def _responses_usage(usage: Any) -> build.Usage | None:
    if usage is None:
        return None
    total = get(usage, "total_tokens")
    return build.Usage(
        as_int(get(usage, "input_tokens")),
        as_int(get(usage, "output_tokens")),
        as_int(get(get(usage, "input_tokens_details"), "cached_tokens")),
        0,
        as_int(get(get(usage, "output_tokens_details"), "reasoning_tokens")),
        total if isinstance(total, int) else None,
    )


def _finish(output: list[Message], status: Any, incomplete: Any) -> list[str] | None:
    """As on a Codex span: the Responses API has no finish reason, how it ended says it."""
    if status == "failed":
        return [sc.FINISH_ERROR]
    if status == "incomplete" and get(incomplete, "reason") == "max_output_tokens":
        return [sc.FINISH_LENGTH]
    parts = [p for m in output for p in m.parts]
    if any(isinstance(p, ToolCallPart) for p in parts):
        return [sc.FINISH_TOOL_CALL]
    if any(isinstance(p, TextPart) for p in parts):
        return [sc.FINISH_STOP]
    return None


def respond_responses(result: Any) -> Answer:
    output = _response_items(get(result, "output"))
    return Answer(
        output=output,
        usage=_responses_usage(get(result, "usage")),
        response_id=as_str(get(result, "id")),
        response_model=as_str(get(result, "model")),
        finish_reasons=_finish(output, get(result, "status"), get(result, "incomplete_details")),
    )


class ResponsesCollector(Collector):
    """Events of a streamed response: the final one carries the whole response; a stream
    cut off before it still has the items done and the text seen so far."""

    def __init__(self) -> None:
        self.final: Any = None
        self.id: str | None = None
        self.model: str | None = None
        self.items: list[Any] = []
        self.text: list[str] = []

    def add(self, event: Any) -> None:
        kind = get(event, "type")
        if kind in ("response.completed", "response.incomplete", "response.failed"):
            self.final = get(event, "response")
        elif kind in ("response.created", "response.in_progress"):
            response = get(event, "response")
            self.id = self.id or as_str(get(response, "id"))
            self.model = self.model or as_str(get(response, "model"))
        elif kind == "response.output_item.done":
            self.items.append(get(event, "item"))
        elif kind == "response.output_text.delta":
            delta = get(event, "delta")
            if isinstance(delta, str):
                self.text.append(delta)

    def answer(self) -> Answer:
        if self.final is not None:
            answer = respond_responses(self.final)
            answer.response_id = answer.response_id or self.id
            return answer
        output = _response_items(self.items)
        if not output and self.text:
            output = [Message(sc.ROLE_ASSISTANT, (TextPart("".join(self.text)),))]
        return Answer(output, None, self.id, self.model, None)


CHAT = Method(read_chat, respond_chat, ChatCollector)
RESPONSES = Method(read_responses, respond_responses, ResponsesCollector)


def _import() -> Any:
    try:
        import openai
        from openai.resources.chat import completions
        from openai.resources.responses import responses
    except ImportError as exc:
        raise ImportError(_NOT_INSTALLED) from exc
    return openai, completions, responses


def instrument(client: Any = None) -> None:
    """Trace every chat.completions and responses call: of all clients (no argument, also
    those made later), or of one client (`OpenAI`, `AsyncOpenAI`, or a compatible one)."""
    openai, completions, responses = _import()
    streams = (openai.Stream, openai.AsyncStream)
    chat, responses_api = replace(CHAT, streams=streams), replace(RESPONSES, streams=streams)
    if client is None:
        for owner in (completions.Completions, completions.AsyncCompletions):
            _call.patch(owner, "create", chat)
        for owner in (responses.Responses, responses.AsyncResponses):
            _call.patch(owner, "create", responses_api)
        return
    if not isinstance(client, (openai.OpenAI, openai.AsyncOpenAI)):
        raise TypeError(f"instrument_openai() takes an OpenAI client, not {type(client).__name__}")
    _call.patch(client.chat.completions, "create", chat)
    _call.patch(client.responses, "create", responses_api)
