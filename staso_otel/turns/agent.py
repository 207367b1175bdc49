"""What an agent gives the kernel (`Agent`), and the worker's Target over it. [turns]

An agent is its parser (Record -> vocabulary events), its transcript reader, its tool
catalogue and span facts, and a few behaviour facts; the kernel owns the state, the
reducer and the span assembly. Nothing in the kernel branches on an agent's name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from staso_otel.record.journal import Record
from staso_otel.span.build import Usage
from staso_otel.span.messages import Message
from staso_otel.span.model import SpanData
from staso_otel.turns.context import Context
from staso_otel.turns.state import Link, Session, Turn
from staso_otel.turns.vocabulary import Event


@dataclass(frozen=True)
class Behaviour:
    """Where agents really differ in how a unit opens or closes."""

    # Stop alone does not end a turn: a Stop hook may block it and the turn goes on, and
    # only the transcript says which (Codex). The turn waits (the worker polls) until the
    # agent's `settled` says it is over.
    stop_waits_for_transcript: bool = False
    # A SubagentStop whose unit never opened (its start not hooked) still opens and closes
    # it: the sub-agent's own transcript holds the whole run (Claude Code).
    subagent_stop_opens: bool = False
    # SessionEnd ends the turns it finds open at its own time, not at their last event
    # (Claude Code: a session ended while a turn ran).
    session_end_ends_open_turns: bool = False
    # A unit still open when its session expires did not finish, whatever its transcript
    # says (Codex: no Stop came); otherwise expiry decides as any undecided close does.
    expired_is_unfinished: bool = False
    # A tool event that names no call belongs to the oldest open call of that tool (calls
    # run in order), not the latest (Codex: the one just asked about).
    unnamed_call_is_oldest: bool = False


@dataclass(frozen=True)
class Verdict:
    """How a unit ended, by the agent's transcript (when no hook said so)."""

    outcome: str
    error: str | None = None


@dataclass
class ChatRow:
    """One model call as the agent knows it, ready for a chat span."""

    key: Any  # with the unit, names the span: ids.span_id(trace, "chat", unit, seg, key)
    start: int
    end: int
    usage: Usage | None = None
    request_model: str | None = None
    response_model: str | None = None
    response_id: str | None = None
    inputs: Sequence[Message] | None = None
    outputs: Sequence[Message] | None = None
    input_scope: str | None = None
    finish_reasons: list[str] | None = None
    error_type: str | None = None
    error_message: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class ToolRow:
    """One tool call as the agent knows it, ready for an execute_tool span."""

    call_id: str
    parent: int  # span id
    start: int
    end: int
    name: str
    arguments: Any
    result: Any
    facts: Mapping[str, Any]
    description: str | None = None
    error_type: str | None = None
    error_message: str | None = None


@dataclass
class Root:
    """What the agent adds to a unit's root span."""

    attributes: dict[str, Any]
    prompt: Any = None
    response: Any = None  # the final answer: the agent picks between hook and transcript
    version: str | None = None


class Agent(Protocol):
    name: str  # journal folder, `staso hook <name>`, first part of every trace id
    agent_name: str  # gen_ai.agent.name of a turn's root
    provider: str
    behaviour: Behaviour

    # --- events ---
    def parse(self, record: Record) -> Iterable[Event]:
        """A journal Record as vocabulary events (none: not this agent's, or no session)."""
        ...

    # --- its tool catalogue ---
    def spawns_agents(self, tool_name: str) -> bool:
        """Whether a call of this tool starts a sub-agent (its span is remembered)."""
        ...

    def tool_type(self, tool_name: str) -> str:
        """gen_ai.tool.type: function, extension (MCP), datastore (hosted search) ..."""
        ...

    def category(self, tool_name: str) -> str | None:
        """staso.tool.category: shell, file_edit, multi_agent ..."""
        ...

    def link_subagent(self, session: Session, event: Event, ctx: Context) -> Link:
        """Where a sub-agent unit opening at `event` hangs (a spawn call, else a root)."""
        ...

    # --- transcript ---
    def opened(self, session: Session, turn: Turn, t: int) -> None:
        """A main turn opened at `t`: drop transcript facts no open turn will use."""
        ...

    def settled(self, session: Session, turn: Turn, now_ns: int, ctx: Context) -> bool:
        """A turn waiting after its Stop (behaviour.stop_waits_for_transcript): is it over?"""
        ...

    def collect(self, session: Session, turn: Turn, reason: str, cutoff: int, ctx: Context) -> Any:
        """The transcript facts of a closing unit (read up to a little past `cutoff`;
        content kept up to `ctx.max_text` characters a value)."""
        ...

    def pruned(self, session: Session, turn: Turn) -> None:
        """A unit closed: bound what the session keeps of the transcript."""
        ...

    # --- spans ---
    def subagent_ids(self, trace: int, turn: Turn, call_id: str | None) -> int:
        """A sub-agent unit's root span id (call_id None) or a tool call's in it."""
        ...

    def verdict(self, turn: Turn, facts: Any) -> Verdict | None: ...

    def chat_rows(
        self, session: Session, turn: Turn, facts: Any, ctx: Context
    ) -> tuple[list[ChatRow], str | None]:
        """The unit's model calls, and the model to name its root with."""
        ...

    def tool_rows(
        self, session: Session, turn: Turn, facts: Any, ids: Any, outcome: str, end: int
    ) -> list[ToolRow]: ...

    def root(self, session: Session, turn: Turn, facts: Any) -> Root: ...


@dataclass(frozen=True)
class KernelTarget:
    """The worker's Target for an agent: Records in, finished spans out."""

    agent: Agent

    @property
    def name(self) -> str:
        return self.agent.name

    @property
    def agent_name(self) -> str:
        return self.agent.agent_name

    def process(
        self, state: dict[str, Any], records: Sequence[Record], ctx: Context
    ) -> list[SpanData]:
        from staso_otel.turns import reducer

        return reducer.process(self.agent, state, records, ctx)

    def expire(self, state: dict[str, Any], ctx: Context) -> list[SpanData]:
        from staso_otel.turns import reducer

        return reducer.expire(self.agent, state, ctx)


__all__ = [
    "Agent",
    "Behaviour",
    "ChatRow",
    "KernelTarget",
    "Root",
    "ToolRow",
    "Verdict",
]
