"""What went into and came out of one Codex model request, from rollout facts. [targets/codex]

Between two token-usage records the rollout holds, in order, what the model was sent since
the previous request (instructions and context at the start of a conversation, the prompt,
hook prompts, tool outputs) and what it answered (reasoning summaries, text, tool calls).
This turns that window of facts into chat messages: only what is new, never the whole
conversation again, so a span carries what that request added. Codex's instructions are
developer messages in the conversation itself, so they are input messages of role
`system` (the conventions keep `gen_ai.system_instructions` for instructions sent apart
from the history).
"""

from __future__ import annotations

from dataclasses import dataclass

from staso_otel import semconv as sc
from staso_otel.span.messages import (
    Message,
    Part,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    ToolCallResponsePart,
    arguments_value,
)

_ROLES = {"user": sc.ROLE_USER, "developer": sc.ROLE_SYSTEM, "system": sc.ROLE_SYSTEM}


@dataclass(frozen=True, slots=True)
class Exchange:
    inputs: tuple[Message, ...]
    outputs: tuple[Message, ...]

    @property
    def starts_conversation(self) -> bool:
        """Instructions are sent once, with the conversation's first request."""
        return any(m.role == sc.ROLE_SYSTEM for m in self.inputs)


def exchange(window: list[dict]) -> Exchange:
    """Messages of one request from the facts written since the one before it."""
    inputs: list[Message] = []
    answer: list[Part] = []
    for fact in window:
        kind = fact["k"]
        if kind == "in" and fact.get("text"):
            role = _ROLES.get(fact.get("role") or "", sc.ROLE_USER)
            inputs.append(Message(role, (TextPart(fact["text"]),)))
        elif kind == "out":
            inputs.append(Message(sc.ROLE_TOOL, (ToolCallResponsePart(fact["id"], fact["out"]),)))
        elif kind == "think" and fact.get("text"):
            answer.append(ReasoningPart(fact["text"]))
        elif kind == "msg" and fact.get("text"):
            answer.append(TextPart(fact["text"]))
        elif kind == "call":
            answer.append(ToolCallPart(fact["id"], fact["name"], arguments_value(fact.get("args"))))
    outputs = (Message(sc.ROLE_ASSISTANT, tuple(answer)),) if answer else ()
    return Exchange(tuple(inputs), outputs)
