"""The model's tool calls of a turn, waiting for the tool span that runs them. [api]

A model call inside a turn that answers with tool calls (an instrumented client's, or an
`llm_call` whose output names them) offers their ids here; a `tool_call` / `@tool` span
started in the same turn without a `call_id` claims one, so its `gen_ai.tool.call.id`
links it to the request that asked for it, as on a Codex or Claude Code tool span. The
match: the oldest unclaimed call with the tool's name whose arguments agree with the
span's (the model's arguments all present with the same values), else the oldest with
the name. A span given its `call_id` takes that call off the list.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from staso_otel.span.messages import Message, ToolCallPart

# a bound on calls offered but never run (a model that asks for many and an agent that runs none)
MAX_PENDING = 256


def _agree(asked: object, given: object) -> bool:
    if isinstance(asked, dict) and isinstance(given, dict):
        return all(k in given and given[k] == v for k, v in asked.items())
    return asked == given


class PendingToolCalls:
    def __init__(self) -> None:
        self._calls: list[ToolCallPart] = []
        self._lock = threading.Lock()  # tools of one turn may run in threads

    def offer(self, messages: Iterable[Message]) -> None:
        calls = [
            p for m in messages for p in m.parts if isinstance(p, ToolCallPart) and p.id and p.name
        ]
        if not calls:
            return
        with self._lock:
            known = {c.id for c in self._calls}
            self._calls.extend(c for c in calls if c.id not in known)
            del self._calls[:-MAX_PENDING]

    def claim(self, name: str, arguments: object) -> str | None:
        """The id of the call a tool span named `name` with `arguments` runs, if any."""
        with self._lock:
            named = [c for c in self._calls if c.name == name]
            if not named:
                return None
            call = next((c for c in named if _agree(c.arguments, arguments)), named[0])
            self._calls.remove(call)
            return call.id

    def take(self, call_id: str) -> None:
        """A span that was given its call id: that call is not waiting any more."""
        with self._lock:
            self._calls = [c for c in self._calls if c.id != call_id]
