"""Chat messages of one model call, in both dialects a backend reads. [span]

A model call's input and output are lists of `Message`, each a role and typed parts, as
the GenAI conventions model them (`gen_ai.input.messages`, `gen_ai.output.messages`,
`gen_ai.system_instructions`: JSON arrays of `{role, parts: [{type, ...}]}`, see the
semantic-conventions-genai repository, `model/gen-ai/gen-ai-input-messages.json`).
OpenInference has no JSON form: Phoenix and MLflow read flattened attributes
(`llm.input_messages.0.message.role`, `...message.tool_calls.0.tool_call.function.name`),
so `openinference_attributes` flattens the same messages. Pure functions.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

import orjson

from staso_otel import semconv as sc
from staso_otel.span.model import JoinedText
from staso_otel.span.secrets import stays_apart

__all__ = [
    "Message",
    "ReasoningPart",
    "TextPart",
    "ToolCallPart",
    "ToolCallResponsePart",
    "answer_text",
    "arguments_value",
    "coerce",
    "dumps",
    "openinference_attributes",
    "parts_json",
    "to_json",
]

# OpenInference flattens at most this many messages per direction: the JSON form keeps
# them all, and a span has an attribute budget (OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT, 128).
MAX_FLAT_MESSAGES = 16


# The classes made for every model call (a message and its text, in and out) set their
# fields through the slots' own descriptors: a frozen dataclass's generated __init__ calls
# object.__setattr__ for each field (Message 314 -> 204 ns). Frozen all the same.
@dataclass(frozen=True, slots=True, init=False)
class TextPart:
    content: str

    def __init__(self, content: str) -> None:
        _set_content(self, content)

    def to_dict(self) -> dict[str, object]:
        return {"type": "text", "content": self.content}


@dataclass(frozen=True, slots=True)
class ReasoningPart:
    """What the model said of its reasoning (a summary: the raw tokens are encrypted)."""

    content: str

    def to_dict(self) -> dict[str, object]:
        return {"type": "reasoning", "content": self.content}


@dataclass(frozen=True, slots=True)
class ToolCallPart:
    id: str | None
    name: str
    arguments: object = None  # parsed JSON when it parses, else the raw text

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"type": "tool_call", "id": self.id, "name": self.name}
        if self.arguments is not None:
            out["arguments"] = self.arguments
        return out


@dataclass(frozen=True, slots=True)
class ToolCallResponsePart:
    id: str | None
    response: object

    def to_dict(self) -> dict[str, object]:
        return {"type": "tool_call_response", "id": self.id, "response": self.response}


Part = TextPart | ReasoningPart | ToolCallPart | ToolCallResponsePart


@dataclass(frozen=True, slots=True, init=False)
class Message:
    role: str  # system | user | assistant | tool
    parts: tuple[Part, ...]
    finish_reason: str | None = None  # output messages only

    def __init__(
        self, role: str, parts: tuple[Part, ...], finish_reason: str | None = None
    ) -> None:
        _set_role(self, role)
        _set_parts(self, parts)
        _set_finish_reason(self, finish_reason)

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"role": self.role, "parts": [p.to_dict() for p in self.parts]}
        if self.finish_reason is not None:
            out["finish_reason"] = self.finish_reason
        return out

    @property
    def text(self) -> str:
        parts = self.parts
        if len(parts) == 1 and type(parts[0]) is TextPart:  # most messages: one text
            return parts[0].content
        return "\n".join(p.content for p in parts if isinstance(p, TextPart))


_set_content = TextPart.content.__set__  # type: ignore[attr-defined]
_set_role = Message.role.__set__  # type: ignore[attr-defined]
_set_parts = Message.parts.__set__  # type: ignore[attr-defined]
_set_finish_reason = Message.finish_reason.__set__  # type: ignore[attr-defined]


def arguments_value(raw: object) -> object:
    """Tool-call arguments as the conventions want them: an object when the model sent
    JSON (Codex and the Responses API send a string of JSON), else what it sent."""
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


def _parts_of(content: object) -> list[Part]:
    """Text parts of a content value as chat APIs shape it: a string, or a list of blocks
    ({type: text | input_text | output_text, text})."""
    if content is None:
        return []
    if isinstance(content, str):
        return [TextPart(content)] if content else []
    if isinstance(content, list):
        parts: list[Part] = []
        for block in content:
            if isinstance(block, str):
                parts.append(TextPart(block))
            elif isinstance(block, dict) and isinstance(block.get("text"), str):
                parts.append(TextPart(block["text"]))
        return parts
    return [TextPart(dumps(content))]


def _from_dict(item: dict) -> Message:
    content, role = item.get("content"), item.get("role") or sc.ROLE_USER
    plain = type(content) is str and type(role) is str and role != sc.ROLE_TOOL
    if plain and not item.get("tool_calls"):  # most messages: one text, as below makes it
        return Message(role, (TextPart(content),) if content else ())
    role = str(role)
    if role == sc.ROLE_TOOL:
        return Message(role, (ToolCallResponsePart(item.get("tool_call_id"), content),))
    parts = _parts_of(content)
    for call in item.get("tool_calls") or []:
        if isinstance(call, dict):
            fn = call.get("function") if isinstance(call.get("function"), dict) else call
            parts.append(
                ToolCallPart(
                    call.get("id"),
                    str(fn.get("name") or ""),
                    arguments_value(fn.get("arguments")),
                )
            )
    return Message(role, tuple(parts))


def coerce(value: object, role: str) -> list[Message] | None:
    """Messages from what a library caller passes: Messages as they are, a string as one
    message of `role`, chat-API dicts (`{role, content, tool_calls}`) converted."""
    if type(value) is str:  # the common case first
        return [Message(role, (TextPart(value),))] if value else None
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, Message):
        return [value]
    if isinstance(value, str):
        return [Message(role, (TextPart(value),))]
    if isinstance(value, (list, tuple)):
        out: list[Message] = []
        for v in value:
            if isinstance(v, Message):
                out.append(v)
            elif isinstance(v, dict) and ("role" in v or "content" in v):
                out.append(_from_dict(v))
            else:
                out.append(Message(role, tuple(_parts_of([v] if isinstance(v, str) else v))))
        return out
    if isinstance(value, dict) and ("role" in value or "content" in value):
        return [_from_dict(value)]
    return [Message(role, (TextPart(dumps(value)),))]


# One encoder for every call: json.dumps with these options builds a JSONEncoder each
# time, which on a library span cost more than the encoding (same output either way).
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str)


def dumps(value: object) -> str:
    """Compact JSON as attributes carry it: UTF-8 text kept, anything else via str().
    orjson writes the standard library's text, eight times faster on a tool's arguments
    (a small exponent aside, 1e-7 for 1e-07, and NaN as null, which is JSON); what orjson
    refuses (a lone surrogate, an int over 64 bits, nesting deeper than 254) goes to the
    standard library."""
    try:
        return orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # orjson.JSONEncodeError is one
        return _ENCODER.encode(value)


# the string encoder JSONEncoder itself uses with ensure_ascii=False (C, when built)
_quote = json.encoder.encode_basestring


@lru_cache(maxsize=64)
def _text_head(role: str) -> tuple[str, bool]:
    """A one-text message's JSON up to its text, and whether its role stays apart from
    the text (secrets.stays_apart). Few roles: made once each."""
    return '{"role":' + _quote(role) + ',"parts":[{"type":"text","content":', stays_apart(role)


@lru_cache(maxsize=64)
def _array_head(role: str) -> str:
    """An array of one one-text message, up to its text."""
    return "[" + _text_head(role)[0]


def _text_message_json(m: Message) -> tuple[str, ...] | None:
    """A message of text parts only (most of them) as `dumps(m.to_dict())` writes it,
    without the dicts, in pieces; None for anything else. A message of one text that JSON
    writes as it is, beside a role and finish reason that stay apart from it, comes as
    three (before, the text in its quotes, after); any other as one."""
    role, finish = m.role, m.finish_reason
    if type(role) is not str or (finish is not None and type(finish) is not str):
        return None
    parts = m.parts
    tail = "}" if finish is None else ',"finish_reason":' + _quote(finish) + "}"
    if len(parts) == 1 and type(parts[0]) is TextPart and type(parts[0].content) is str:
        head, apart = _text_head(role)
        text = parts[0].content
        quoted = _quote(text)
        if apart and len(quoted) == len(text) + 2 and (finish is None or stays_apart(finish)):
            return head, quoted, "}]" + tail
        return (head + quoted + "}]" + tail,)
    texts = []
    for p in parts:
        if type(p) is not TextPart or type(p.content) is not str:
            return None
        texts.append('{"type":"text","content":' + _quote(p.content) + "}")
    return ('{"role":' + _quote(role) + ',"parts":[' + ",".join(texts) + "]" + tail,)


# An array of one message this short is a plain str: redaction scanning its text twice (in
# its quotes, and bare as output.value or an OpenInference copy) costs less than keeping
# and walking its pieces (bench_api, in memory: 0.57x raw with the pieces, 0.60x without).
_PLAIN_BELOW = 512


def to_json(messages: Sequence[Message]) -> str:
    """`gen_ai.input.messages` / `gen_ai.output.messages`: one JSON array, the same text as
    `dumps([m.to_dict() for m in messages])`, kept as its messages for redaction: a piece
    each, or three where the message's one text stands apart, the text a piece of its own
    that redaction looks up bare (JoinedText.texts). A short array of one message is a
    plain str (see _PLAIN_BELOW)."""
    if len(messages) == 1:  # most calls: one message, most often one short text
        m = messages[0]
        if m.finish_reason is None and len(m.parts) == 1 and type(m.parts[0]) is TextPart:
            text = m.parts[0].content
            if type(text) is str and type(m.role) is str:  # as _text_message_json writes it
                array = _array_head(m.role) + _quote(text) + "}]}]"
                if len(array) < _PLAIN_BELOW:
                    return array
        written = _message_pieces(m)
        if sum(map(len, written)) < _PLAIN_BELOW - 2:
            return "[" + "".join(written) + "]"
        return _joined_array(messages, (written,))
    return _joined_array(messages, [_message_pieces(m) for m in messages])


def _message_pieces(m: Message) -> tuple[str, ...]:
    """One message's JSON: three pieces where its text stands apart, else one."""
    return _text_message_json(m) or (dumps(m.to_dict()),)


def _joined_array(messages: Sequence[Message], written: Sequence[tuple[str, ...]]) -> JoinedText:
    pieces = ["["]
    texts = []
    for i, (m, mine) in enumerate(zip(messages, written, strict=True)):
        if i:
            pieces.append(",")
        if len(mine) > 1:
            texts.append((len(pieces) + 1, m.parts[0].content))  # type: ignore[union-attr]
        pieces += mine
    pieces.append("]")
    return JoinedText(pieces, texts)


def parts_json(parts: Sequence[Part]) -> str:
    """`gen_ai.system_instructions`: a JSON array of parts (no role)."""
    return dumps([p.to_dict() for p in parts])


def answer_text(messages: Sequence[Message]) -> str | None:
    """The model's answer as text (`output.value`), or None when it called a tool."""
    if len(messages) == 1 and len(parts := messages[0].parts) == 1 and type(parts[0]) is TextPart:
        return parts[0].content  # most answers: one text
    if any(isinstance(p, ToolCallPart) for m in messages for p in m.parts):
        return None
    return "\n".join(m.text for m in messages)


def _flat_messages(messages: Sequence[Message]) -> list[tuple[str, Message, str | None]]:
    """OpenInference's messages: one per tool response (a tool message answers one call)."""
    flat: list[tuple[str, Message, str | None]] = []
    for m in messages:
        parts = m.parts
        if len(parts) == 1 and type(parts[0]) is TextPart:  # most messages: one text
            flat.append((m.role, m, None))
            continue
        responses = [p for p in parts if isinstance(p, ToolCallResponsePart)]
        if not responses:
            flat.append((m.role, m, None))
            continue
        for r in responses:
            text = r.response if isinstance(r.response, str) else dumps(r.response)
            flat.append((sc.ROLE_TOOL, Message(sc.ROLE_TOOL, (TextPart(text),)), r.id))
    return flat


@cache
def _message_keys(prefix: str, i: int) -> tuple[str, str]:
    """`{prefix}.{i}.message.role` and `.message.content`, made once (few prefixes, i < 16)."""
    return f"{prefix}.{i}.{sc.OI_MESSAGE_ROLE}", f"{prefix}.{i}.{sc.OI_MESSAGE_CONTENT}"


def openinference_attributes(
    prefix: str, messages: Sequence[Message], into: dict[str, Any] | None = None
) -> dict[str, Any]:
    """`{prefix}.{i}.message.role`, `.message.content`, `.message.tool_call_id`,
    `.message.tool_calls.{j}.tool_call.id|function.name|function.arguments`; set in `into`
    when given (a builder's attributes), else in a new dict."""
    attrs: dict[str, Any] = {} if into is None else into
    if len(messages) == 1 and len(parts := messages[0].parts) == 1 and type(parts[0]) is TextPart:
        # most calls: one message of one text (as the loop below writes it)
        role_key, content_key = _message_keys(prefix, 0)
        attrs[role_key] = messages[0].role
        if parts[0].content:
            attrs[content_key] = parts[0].content
        return attrs
    for i, (role, message, call_id) in enumerate(_flat_messages(messages)[:MAX_FLAT_MESSAGES]):
        role_key, content_key = _message_keys(prefix, i)
        attrs[role_key] = role
        parts = message.parts
        if len(parts) == 1 and type(parts[0]) is TextPart and not call_id:  # most messages
            if parts[0].content:
                attrs[content_key] = parts[0].content
            continue
        base = f"{prefix}.{i}."
        text = message.text
        if text:
            attrs[content_key] = text
        if call_id:
            attrs[base + sc.OI_MESSAGE_TOOL_CALL_ID] = call_id
        calls = [p for p in parts if isinstance(p, ToolCallPart)]
        for j, call in enumerate(calls):
            cbase = f"{base}{sc.OI_MESSAGE_TOOL_CALLS}.{j}."
            if call.id:
                attrs[cbase + sc.OI_TOOL_CALL_ID] = call.id
            attrs[cbase + sc.OI_TOOL_CALL_FUNCTION_NAME] = call.name
            if call.arguments is not None:
                args = call.arguments
                attrs[cbase + sc.OI_TOOL_CALL_FUNCTION_ARGUMENTS] = (
                    args if isinstance(args, str) else dumps(args)
                )
    return attrs
