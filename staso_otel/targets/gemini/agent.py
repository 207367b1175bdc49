"""Gemini CLI on the turn kernel: behaviour and transcript. [targets/gemini]

A turn is one BeforeAgent .. AfterAgent (or the next BeforeAgent, a SessionStart of a new
process, SessionEnd). Gemini CLI names no turn, request or call in its payloads, so a
turn is keyed by its BeforeAgent's own `timestamp` and every other event belongs to the
session's open turn; a tool event is about the oldest open call of its tool (calls run in
order). Its spans are built when it closes, because only then does the transcript hold
its responses with their tokens (the hooks carry no cached or thinking tokens) and the
ids of its tool calls. Gemini CLI has no hooks for sub-agents: none are linked.
"""

from __future__ import annotations

from typing import Any

from staso_otel import semconv as sc
from staso_otel.span import ids
from staso_otel.targets import jsonl
from staso_otel.targets.gemini import events, spans, transcript
from staso_otel.turns.agent import Behaviour
from staso_otel.turns.context import Context
from staso_otel.turns.state import Link, Session, Turn
from staso_otel.turns.vocabulary import Event

NAME = "gemini"
MAX_FILES = 16
# A transcript record may be stamped a little before the hook that opened its turn was
# received (the CLI stamps, then runs the hook).
SINCE_SLACK_NS = 1_000_000_000


class Gemini(spans.GeminiSpans):
    name = NAME
    agent_name = "gemini-cli"
    provider = sc.PROVIDER_GEMINI
    behaviour = Behaviour(unnamed_call_is_oldest=True)

    parse = staticmethod(events.parse)

    def link_subagent(self, session: Session, event: Event, ctx: Context) -> Link:
        return Link()  # no sub-agent hooks: a sub-agent event never comes

    def subagent_ids(self, trace: int, turn: Turn, call_id: str | None) -> int:
        if call_id is None:
            return ids.span_id(trace, "agent", turn.agent, turn.seg)
        return ids.span_id(trace, "tool", turn.agent, turn.seg, call_id)

    def opened(self, session: Session, turn: Turn, t: int) -> None:
        pass  # turns run one at a time: what is read at a close is that turn's

    def settled(self, session: Session, turn: Turn, now_ns: int, ctx: Context) -> bool:
        return True  # AfterAgent ends the turn

    def collect(
        self, session: Session, turn: Turn, reason: str, cutoff: int, ctx: Context
    ) -> dict[str, Any]:
        """The transcript lines from where the last turn stopped reading up to a little
        past `cutoff` (when the event closing this one came), older ones left out."""
        path = turn.path or session.meta.path
        if not path:
            return transcript.empty()
        fstate = session.files.setdefault(path, {"off": 0})
        until = cutoff + jsonl.READ_AHEAD_NS
        return transcript.read(fstate, path, until, turn.start - SINCE_SLACK_NS, ctx.max_text)

    def pruned(self, session: Session, turn: Turn) -> None:
        files = session.files
        for path in list(files)[: max(0, len(files) - MAX_FILES)]:
            if path != session.meta.path:
                del files[path]
