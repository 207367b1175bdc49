"""Codex on the turn kernel: its behaviour, rollout bookkeeping, sub-agent links. [targets/codex]

A Codex turn's Stop does not end it: a Stop hook may block it and the turn goes on, and
only the rollout says which (its task_complete / turn_aborted, and no Stop-hook prompt
after that Stop). So a Stop waits (the worker polls) until `settled`. Its spans are built
when it closes because only then does the rollout hold its exit codes, diffs and
response ids.

Timing: hook receipt times bound turns, model calls and tool calls; rollout timestamps
time what fired no hook (hosted web search, write_stdin, update_plan, code-mode `exec`
cells, model calls of Codex releases without model hooks).

The session keeps, besides the kernel's units, per-file rollout offsets (`files`) and the
rollout facts of turns not yet closed (`facts`), so its size does not grow with the
session.
"""

from __future__ import annotations

import functools

from staso_otel import semconv as sc
from staso_otel.span import ids
from staso_otel.targets.codex import events, spans, tools, transcript
from staso_otel.turns.agent import Behaviour
from staso_otel.turns.assemble import SpanIds
from staso_otel.turns.context import Context
from staso_otel.turns.state import Link, Session, Turn
from staso_otel.turns.vocabulary import Event

NAME = "codex"
MAX_FILES = 64  # rollout offsets kept (the session's own + recent sub-agents')


class Codex(spans.CodexSpans):
    name = NAME
    agent_name = "codex"
    provider = sc.PROVIDER_OPENAI
    behaviour = Behaviour(stop_waits_for_transcript=True, expired_is_unfinished=True)

    parse = staticmethod(events.parse)

    # --- sub-agents ------------------------------------------------------------------

    def link_subagent(self, session: Session, e: Event, ctx: Context) -> Link:
        assert e.agent_id is not None
        link = _call_link(session, e.agent_id) or session.links.get(e.agent_id)
        mains = _mains(session)
        if mains and link and link.trace != f"{SpanIds(self, session, mains[-1]).trace:x}":
            link = None  # a later turn of a known sub-agent belongs to the turn driving it now
        if link is None:
            link = self._spawned_by(session, e, ctx) or self._fallback_parent(session, e)
        return Link(link.trace, link.span, link.task)

    def _spawned_by(self, session: Session, e: Event, ctx: Context) -> Link | None:
        """The open main turn's spawn call that started this agent, by the parent rollout's
        SubAgentActivity record (multi-agent v2: the spawn answer names no agent id), with
        the task it was given (the call's `message`)."""
        mains = _mains(session)
        if not mains:
            return None
        main = mains[-1]
        # the record is written before SubagentStart fires
        self._sync(session, main, e.t, ctx.max_text)
        for f in session.facts.get(main.key, []):
            item = f.get("item") if f["k"] == "item" else None
            if not item or item.get("agent_thread_id") != e.agent_id or f["id"] not in main.tools:
                continue
            span_ids = SpanIds(self, session, main)
            args = tools.parse_json(main.tools[f["id"]].input)
            task = args.get("message") if isinstance(args, dict) else None
            return Link(
                f"{span_ids.trace:x}",
                f"{span_ids.tool(f['id']):x}",
                task if isinstance(task, str) else None,
            )
        return None

    def _fallback_parent(self, session: Session, e: Event) -> Link:
        """No spawn result named this agent (multi-agent v2 answers with a task name) or
        it is a later turn of a known one: hang it under the open main turn's first spawn
        call not yet claimed by another sub-agent (they start in spawn order), else its
        latest multi-agent call, else that turn's root. With no open turn at all it becomes
        the root of a trace of its own, never an orphan."""
        mains = _mains(session)
        if not mains:
            trace = ids.trace_id(NAME, session.session_id, "subagent", e.agent_id, e.turn)
            return Link(f"{trace:x}", None)
        main = mains[-1]
        span_ids = SpanIds(self, session, main)
        claimed = {link.span for link in session.links.values()}
        candidates = [
            (tools.canonical_hook_name(tool.name), f"{span_ids.tool(call_id):x}")
            for call_id, tool in main.tools.items()
            if tools.category(tools.canonical_hook_name(tool.name)) == sc.CATEGORY_MULTI_AGENT
        ]
        free = [span for name, span in candidates if name == "spawn_agent" and span not in claimed]
        if free:
            span = free[0]
        elif candidates:  # e.g. send_input woke an existing sub-agent
            span = candidates[-1][1]
        else:
            span = f"{span_ids.root:x}"
        return Link(f"{span_ids.trace:x}", span)

    def subagent_ids(self, trace: int, turn: Turn, call_id: str | None) -> int:
        """A sub-agent is another thread whose call ids may repeat its parent's, and its
        turns all live in the parent's trace, so its spans are keyed by agent and turn."""
        if call_id is not None:
            return ids.span_id(trace, "tool", turn.agent, turn.key, turn.seg, call_id)
        if turn.seg:
            return ids.span_id(trace, "agent", turn.agent, turn.key, turn.seg)
        return ids.span_id(trace, "agent", turn.agent, turn.key)

    # --- the rollout -----------------------------------------------------------------

    def opened(self, session: Session, turn: Turn, t: int) -> None:
        _gc_facts(session, t)

    def settled(self, session: Session, turn: Turn, now_ns: int, ctx: Context) -> bool:
        """A turn its last Stop left waiting is over once the rollout says so: the turn's
        task_complete / turn_aborted, and no Stop-hook prompt after that Stop (a blocked
        Stop writes one, then the turn goes on)."""
        # it looks when the journal has nothing more to say (after a batch, on a poll):
        # read what the rollout holds by now
        self._sync(session, turn, now_ns, ctx.max_text)
        stopped = turn.stopped or 0
        facts = session.facts.get(turn.key, [])
        if any(f["k"] == "hookprompt" and f["ts"] > stopped for f in facts):
            return False
        return any(f["k"] == "end" for f in facts)

    def collect(
        self, session: Session, turn: Turn, reason: str, cutoff: int, ctx: Context
    ) -> list[dict]:
        """The rollout facts of a closing turn up to `cutoff`; later ones (a lagging read
        took them from the turn's continuation) stay for it."""
        self._sync(session, turn, cutoff, ctx.max_text)
        bucket = session.facts.get(turn.key, [])
        facts = [f for f in bucket if f.get("ts", 0) <= cutoff]
        rest = [f for f in bucket if f.get("ts", 0) > cutoff]
        if rest:
            session.facts[turn.key] = rest
        else:
            session.facts.pop(turn.key, None)
        _gc_facts(session, turn.start)  # while this turn is still open: its leftovers stay
        return facts

    def pruned(self, session: Session, turn: Turn) -> None:
        """Bound what a long session accumulates: rollout files of finished sub-agents,
        oldest first (each is small, but a session can spawn many)."""
        open_paths = {t.path for t in session.turns.values()}
        files = session.files
        for path in list(files)[: max(0, len(files) - MAX_FILES)]:
            if path not in open_paths and path != session.fresh:
                del files[path]

    def _sync(self, session: Session, turn: Turn, cutoff: int, most: int) -> None:
        """Read the rollout up to a little past `cutoff`, one read at a time, dropping
        after each read the facts no open turn will use: a backlog of older turns never
        piles up."""
        path = turn.path
        if not path:
            return
        fstate = session.files.get(path)
        if fstate is None:
            fresh = session.fresh == path
            offset = 0 if fresh else transcript.start_offset(path, turn.key)
            fstate = session.files[path] = {"off": offset}
            head = transcript.first_line(path) if offset else None
            if head is not None and head.get("type") == "session_meta":  # CLI version, agent path
                transcript.ingest(fstate, [head], session.facts, most=most)
        until = cutoff + transcript.READ_AHEAD_NS
        skip = functools.partial(transcript.unused, fstate)
        for lines, end in transcript.read_chunks(path, fstate["off"], until, skip):
            transcript.ingest(fstate, lines, session.facts, most=most)
            fstate["off"] = end
            _gc_facts(session, turn.start)


def _mains(session: Session) -> list[Turn]:
    return [t for t in session.turns.values() if t.agent is None]


def _call_link(session: Session, agent_id: str) -> Link | None:
    """The spawn call whose result named this agent, if one did."""
    return session.calls.get(session.spawned.get(agent_id) or "")


def _gc_facts(session: Session, before: int) -> None:
    """Drop rollout facts no open turn will use: those left behind by closed turns, and
    those of turns that fired no hooks, once they are older than `before` (facts a
    lagging read took from turns still to come are newer, so they stay)."""
    for turn_id, facts in list(session.facts.items()):
        if turn_id in session.turns:
            continue
        newest = max((f.get("ts", 0) for f in facts), default=0)
        if turn_id in session.closed or newest < before:
            del session.facts[turn_id]
