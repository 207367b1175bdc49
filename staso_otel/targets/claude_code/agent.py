"""Claude Code on the turn kernel: behaviour, transcripts, sub-agent links. [targets/claude_code]

A turn is one `prompt_id`: opened by UserPromptSubmit, closed by Stop (or StopFailure,
the next prompt, SessionEnd). Its spans are built when it closes, because only then does
the transcript hold its model calls and their token usage.

Sub-agents run in the background in Claude Code 2.1.330: the parent's Stop often comes
before the sub-agent's SubagentStop, and the result comes back as a synthetic
`<task-notification>` prompt (a turn of its own). So a sub-agent is its own unit, keyed by
`agent:<agent_id>`, closed by SubagentStop, and linked at SubagentStart to the Agent call
that spawned it (trace and span id, both deterministic), so its spans land in the
parent's trace under that call whenever they are exported. Which call that is gets
settled when the sub-agent closes, from what Claude Code says: the sub-agent's meta.json
`toolUseId` (and `parentAgentId` at depth 2), else the Agent call whose PostToolUse named
its `agentId`; the guess from arrival order at SubagentStart is the last resort
(parallel sub-agents start in any order).

Timing: hook receipt times bound turns and tool calls; transcript timestamps time model
calls (api-request line = start, last line of the answer = end) and the calls that fired
no hook (blocked, denied, unknown tool, server-side tools).
"""

from __future__ import annotations

import os
import time
from typing import Any

from staso_otel import semconv as sc
from staso_otel.span import ids
from staso_otel.targets.claude_code import events, spans, tools, transcript
from staso_otel.turns.agent import Behaviour
from staso_otel.turns.assemble import SpanIds, trace_for
from staso_otel.turns.context import Context
from staso_otel.turns.state import Link, Session, Turn
from staso_otel.turns.vocabulary import Event

NAME = "claude-code"
MAX_FILES = 64
MAX_TX = 32  # turns' transcript facts read ahead of their hooks (a lagging worker)
# Stop and SubagentStop can fire before the answer they quote is in the transcript (seen
# with background sub-agents on a loaded machine): the worker, never the agent, waits
# this long for it, polling, then builds the spans with what is there.
SETTLE_S = 3.0
SETTLE_POLL_S = 0.05


class ClaudeCode(spans.ClaudeSpans):
    name = NAME
    agent_name = "claude-code"
    provider = sc.PROVIDER_ANTHROPIC
    behaviour = Behaviour(subagent_stop_opens=True, session_end_ends_open_turns=True)

    parse = staticmethod(events.parse)

    # --- sub-agents ------------------------------------------------------------------

    def link_subagent(self, session: Session, e: Event, ctx: Context) -> Link:
        assert e.agent_id is not None
        link = session.links.get(e.agent_id) or _named_call(session, e.agent_id)
        return link or self._spawning_call(session, e)

    def _spawning_call(self, session: Session, e: Event) -> Link:
        """The Agent call this sub-agent runs for: in the turn of its prompt_id, the open
        Agent/Task call not yet claimed by another sub-agent (they start in call order),
        else that turn's latest Agent call, else its root. With no such turn (hooks
        installed mid-session, state lost) the trace id still follows from the prompt_id."""
        parent = session.turns.get(e.parent_turn or "")
        if parent is None or parent.agent:
            key = e.parent_turn or f"agent:{e.agent_id}"
            return Link(f"{trace_for(NAME, session.session_id, key, 0):x}", None)
        span_ids = SpanIds(self, session, parent)
        calls = [
            call_id
            for call_id, tool in parent.tools.items()
            if tool.name in tools.AGENT_TOOLS and not tool.agent
        ]
        free = [c for c in calls if parent.tools[c].end is None]
        call_id = free[0] if free else (calls[-1] if calls else None)
        if call_id is None:
            return Link(f"{span_ids.trace:x}", f"{span_ids.root:x}")
        parent.tools[call_id].agent = e.agent_id
        return Link(f"{span_ids.trace:x}", f"{span_ids.tool(call_id):x}")

    def _resolve_parent(self, session: Session, turn: Turn, meta: dict[str, Any]) -> None:
        """Settle a closing sub-agent's parent: the Agent call Claude Code names (meta.json
        `toolUseId`, else the call whose PostToolUse returned this `agentId`), in the unit
        that made it (`parentAgentId`: a sub-agent at depth 2). Arrival order is not used
        when either is known: parallel sub-agents start in any order."""
        agent = turn.agent
        assert agent is not None
        call_id = meta.get("toolUseId")
        if not isinstance(call_id, str):
            call_id = session.spawned.get(agent)
        if not isinstance(call_id, str):  # only arrival order placed it (SubagentStart)
            trace = int(turn.trace or "0", 16)
            if turn.parent is None:
                turn.extra["parent_inferred"] = "none"
            elif int(turn.parent, 16) == ids.span_id(trace, "turn"):
                turn.extra["parent_inferred"] = "turn"
            return
        call = session.calls.get(call_id)
        if call is None:  # no hook showed the call (hooks installed mid-session, lost)
            call = self._unseen_call(session, turn, call_id, meta.get("parentAgentId"))
        turn.trace, turn.parent = call.trace, call.span
        turn.extra.setdefault("agent_meta", {})["toolUseId"] = call_id  # also without meta.json
        session.links[agent] = Link(call.trace, call.span)

    def _unseen_call(self, session: Session, turn: Turn, call_id: str, owner: Any) -> Link:
        """Where a sub-agent hangs when no hook showed the call that spawned it: under that
        call if the spawning unit's transcript holds it (the unit's spans are built from
        there too), else under that unit's root; with the unit itself never seen, nowhere
        (the sub-agent is the root of its trace). Never under a span no one sends."""
        inferred: str | None = None
        if isinstance(owner, str):  # depth 2: another sub-agent made the call
            link = session.links.get(owner)
            unit = Turn("", 0, 0, agent=owner)
            trace = int((link.trace if link else None) or turn.trace or "0", 16)
            seen = link is not None or owner in {t.agent for t in session.turns.values()}
            path = _agent_path(session, unit)
            if seen and transcript.has_tool_use(path, call_id):
                span: int | None = self.subagent_ids(trace, unit, call_id)
            elif seen:
                span, inferred = self.subagent_ids(trace, unit, None), "agent"
            else:
                span, inferred = None, "none"
        else:
            key = turn.parent_turn or ""
            parent = session.turns.get(key)
            trace = int(turn.trace or "0", 16)
            path = (parent.path if parent else None) or session.meta.path
            seen = parent is not None or key in session.closed
            if seen and transcript.has_tool_use(path, call_id):
                span = ids.span_id(trace, "tool", call_id)
            elif seen:
                span, inferred = ids.span_id(trace, "turn"), "turn"
            else:
                span, inferred = None, "none"
        if inferred is not None:
            turn.extra["parent_inferred"] = inferred
        return Link(f"{trace:x}", None if span is None else f"{span:x}")

    def subagent_ids(self, trace: int, turn: Turn, call_id: str | None) -> int:
        """A sub-agent is one unit in its parent's trace: its spans are keyed by agent."""
        if call_id is None:
            return ids.span_id(trace, "agent", turn.agent, turn.seg)
        return ids.span_id(trace, "tool", turn.agent, turn.seg, call_id)

    # --- transcripts -----------------------------------------------------------------

    def opened(self, session: Session, turn: Turn, t: int) -> None:
        pass  # facts of older prompts go as the transcript is read (`_sync`)

    def settled(self, session: Session, turn: Turn, now_ns: int, ctx: Context) -> bool:
        return True  # a Stop ends the turn (behaviour.stop_waits_for_transcript is off)

    def collect(self, session: Session, turn: Turn, reason: str, cutoff: int, ctx: Context) -> dict:
        """The transcript facts of a closing unit, read up to a little past `cutoff` (when
        the event closing it came); for a Stop, waiting (bounded) for the answer it quoted."""
        key = turn.key
        if turn.agent:
            path = _agent_path(session, turn)
            turn.agent_path = path
            self._sync(session, path, key, turn, cutoff, ctx.max_text)
            if reason == "subagent_stop":
                self._settle(session, turn, path, key, cutoff, ctx.max_text)
            meta = transcript.agent_meta(path)
            turn.extra["agent_meta"] = {
                k: meta.get(k) for k in ("toolUseId", "spawnDepth", "model")
            }
            self._resolve_parent(session, turn, meta)
        else:
            path = turn.path or session.meta.path
            self._sync(session, path, None, turn, cutoff, ctx.max_text)
            if reason == "stop":
                self._settle(session, turn, path, None, cutoff, ctx.max_text)
        return session.facts.pop(key, None) or transcript.empty()

    def pruned(self, session: Session, turn: Turn) -> None:
        """Bound what a long session accumulates: facts of turns already closed or never
        hooked, transcript offsets of finished sub-agents, oldest first."""
        tx = session.facts
        for key in list(tx):
            if key in session.closed and key not in session.turns:
                del tx[key]
        for key in list(tx)[: max(0, len(tx) - MAX_TX)]:
            if key not in session.turns:
                del tx[key]
        open_paths = {t.agent_path for t in session.turns.values()} | {session.meta.path}
        files = session.files
        for path in list(files)[: max(0, len(files) - MAX_FILES)]:
            if path not in open_paths:
                del files[path]

    def _sync(
        self,
        session: Session,
        path: str | None,
        key: str | None,
        turn: Turn,
        horizon: int,
        most: int,
    ) -> None:
        """Read the transcript up to a little past `horizon`, one read at a time, dropping
        after each read the facts of prompts older than the turn that no hook opened: a
        backlog never piles up in memory."""
        if not path:
            return
        fstate = session.files.get(path)
        if fstate is None:
            fresh = key is not None or session.fresh == path  # a sub-agent's file is its own
            offset = 0 if fresh else transcript.start_offset(path, turn.parent_turn)
            fstate = session.files[path] = {"off": offset}
        fork = session.fork
        since = fork.t if fork is not None and fork.path == path else 0
        until = horizon + transcript.READ_AHEAD_NS
        for lines, end in transcript.read_chunks(path, fstate["off"], until, transcript.unused):
            transcript.ingest(fstate, lines, session.facts, key, since, most=most)
            fstate["off"] = end
            if key is None:
                _drop_stale(session, turn.start)

    def _settle(
        self,
        session: Session,
        turn: Turn,
        path: str | None,
        key: str | None,
        horizon: int,
        most: int,
    ) -> None:
        """Wait (bounded) until the transcript holds the answer the Stop hook quoted (as
        far as the facts keep an answer: `most` characters)."""
        expected = turn.response and turn.response[:most]
        if not expected or not path or not os.path.isfile(path):
            return
        deadline = time.monotonic() + SETTLE_S
        while not _answered(session.facts.get(turn.key), expected):
            if time.monotonic() >= deadline:
                return
            time.sleep(SETTLE_POLL_S)
            self._sync(session, path, key, turn, horizon, most)


def _named_call(session: Session, agent_id: str) -> Link | None:
    """The Agent call whose PostToolUse already returned this agentId, if any."""
    call = session.calls.get(session.spawned.get(agent_id) or "")
    return Link(call.trace, call.span) if call else None


def _agent_path(session: Session, turn: Turn) -> str | None:
    if turn.agent_path:
        return turn.agent_path
    main = turn.path or session.meta.path
    if not main or not session.session_id:
        return None
    folder = os.path.join(os.path.dirname(main), session.session_id, "subagents")
    return os.path.join(folder, f"agent-{turn.agent}.jsonl")


def _drop_stale(session: Session, before: int) -> None:
    tx = session.facts
    for key in list(tx):
        if key in session.turns:
            continue
        newest = transcript.newest(tx[key])
        if key in session.closed or 0 < newest < before:
            del tx[key]


def _answered(facts: dict[str, Any] | None, text: str) -> bool:
    want = text.strip()
    for msg in (facts or {}).get("msgs", {}).values():
        for block in msg.get("blocks") or []:
            if block.get("type") == "text" and want in (block.get("text") or "").strip():
                return True
    return False
