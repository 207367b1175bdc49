"""What went into and came out of one Claude Code model call, from transcript facts.
[targets/claude_code]

A transcript holds, between two assistant messages, what the model was sent next: the
prompt (first call of a turn) or the tool results it was answering. This turns one
message and the user/tool_result entries before it into chat messages, only what is new
since the previous call, never the whole conversation again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from staso_otel import semconv as sc
from staso_otel.span.messages import (
    Message,
    Part,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    ToolCallResponsePart,
)


@dataclass(frozen=True, slots=True)
class Exchange:
    inputs: tuple[Message, ...]
    outputs: tuple[Message, ...]


def _result_value(content: Any) -> Any:
    """A tool_result's content: text blocks joined, other shapes as they are."""
    if isinstance(content, list):
        texts = [b.get("text") for b in content if isinstance(b, dict) and b.get("type") == "text"]
        if texts and len(texts) == len(content):
            return "\n".join(str(t) for t in texts)
    return content


def exchanges(facts: dict[str, Any]) -> dict[str, Exchange]:
    """Per message id (in transcript order), its new inputs and its answer."""
    arrivals: list[tuple[int, Message]] = [
        (u["ts"], Message(sc.ROLE_USER, (TextPart(u["text"]),)))
        for u in facts["user"]
        if u.get("text")
    ]
    arrivals += [
        (
            r["ts"],
            Message(sc.ROLE_TOOL, (ToolCallResponsePart(use_id, _result_value(r["content"])),)),
        )
        for use_id, r in facts["results"].items()
    ]
    arrivals.sort(key=lambda a: a[0])
    out: dict[str, Exchange] = {}
    previous = None
    for mid, msg in sorted(facts["msgs"].items(), key=lambda item: item[1]["t0"]):
        inputs = tuple(
            m for ts, m in arrivals if (previous is None or ts > previous) and ts <= msg["t0"]
        )
        previous = msg["t1"]
        out[mid] = Exchange(inputs, _answer(msg, facts["calls"]))
    return out


def _answer(msg: dict[str, Any], calls: dict[str, Any]) -> tuple[Message, ...]:
    parts: list[Part] = []
    for block in msg.get("blocks") or []:
        kind = block.get("type")
        if kind == "text" and block.get("text"):
            parts.append(TextPart(block["text"]))
        elif kind == "thinking" and block.get("text"):
            parts.append(ReasoningPart(block["text"]))
        elif kind == "tool_use":
            call = calls.get(block.get("id") or "") or {}
            parts.append(ToolCallPart(block.get("id"), str(block.get("name")), call.get("input")))
    return (Message(sc.ROLE_ASSISTANT, tuple(parts)),) if parts else ()
