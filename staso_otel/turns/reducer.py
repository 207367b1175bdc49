"""The one reducer: vocabulary events -> open and closed units -> spans. [turns]

`process(agent, state, records, ctx)` folds a batch of journal Records (each parsed by
the agent into vocabulary events) into the session state and returns the spans of every
unit that closed; `expire(agent, state, ctx)` closes what is still open. A unit is a main
turn (keyed by the agent's turn id) or a sub-agent's (`agent` set, linked at its start to
the call that spawned it). Its spans are built once, when it closes (TurnStopped,
TurnFailed, TurnInterrupted, SubagentStopped, the next turn, SessionEnded, expiry),
because only then does the transcript hold what the hooks do not say; so no span is
emitted twice, however the records are split into batches.

A Stop hook may block a Stop: the turn then goes on. Either the unit closed at the Stop
and the next event of the same key opens segment `seg + 1` of it (a trace of its own that
starts where the blocked Stop left off), or, when the agent's Stop waits on its
transcript, the turn stays open until the agent says it is over (`settled`; the worker
polls) and an event after the Stop counts a block.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from typing import Any

from staso_otel import semconv as sc
from staso_otel.record.journal import Record
from staso_otel.span.model import SpanData
from staso_otel.turns import assemble
from staso_otel.turns import vocabulary as v
from staso_otel.turns.agent import Agent
from staso_otel.turns.context import Context
from staso_otel.turns.state import (
    Closed,
    Fork,
    Link,
    ModelCall,
    Session,
    ToolCall,
    Turn,
    Window,
    cap,
)

MAX_CLOSED = 64  # unit keys remembered after closing (late events, Stop continuations)
MAX_LINKS = 256  # sub-agent links and spawning calls remembered


def process(
    agent: Agent, state: dict[str, Any], records: Sequence[Record], ctx: Context
) -> list[SpanData]:
    """Fold `records` (journal order) into `state`; return the spans of units that closed."""
    r = _Reducer(agent, Session.from_json(state), ctx)
    for record in records:
        for event in agent.parse(record):
            r.session.session_id = r.session.session_id or event.session_id
            r.apply(event)
    r.settle()
    _save(r.session, state)
    return r.out


def expire(agent: Agent, state: dict[str, Any], ctx: Context) -> list[SpanData]:
    """Close every open unit (sub-agents first, then their parents)."""
    r = _Reducer(agent, Session.from_json(state), ctx)
    outcome = sc.TURN_UNFINISHED if agent.behaviour.expired_is_unfinished else None
    r.close_all("expired", ctx.now_ns, main_only=False, outcome=outcome)
    _save(r.session, state)
    return r.out


def _save(session: Session, state: dict[str, Any]) -> None:
    state.clear()
    state.update(session.to_json())


def _bound(d: dict[str, Any], most: int) -> None:
    while len(d) > most:
        d.pop(next(iter(d)))


# what each event does to the unit it belongs to (the _Reducer method of that name)
_STEPS: dict[type, str] = {
    v.TurnStarted: "_prompt",
    v.ModelRequest: "_model_request",
    v.ModelResponse: "_model_response",
    v.ToolStarted: "_tool_started",
    v.ToolPermission: "_tool_permission",
    v.ToolFinished: "_tool_finished",
    v.ToolAnswered: "_tool_answered",
    v.Compaction: "_compaction",
    v.TurnStopped: "_stopped",
    v.TurnFailed: "_failed",
    v.TurnInterrupted: "_interrupted",
}


class _Reducer:
    def __init__(self, agent: Agent, session: Session, ctx: Context) -> None:
        self.agent = agent
        self.session = session
        self.ctx = ctx
        self.out: list[SpanData] = []

    def _kept(self, value: Any) -> Any:
        """A hook's content as the state keeps it until its unit closes."""
        return cap(value, self.ctx.max_hook_text)

    # --- events ----------------------------------------------------------------------

    def apply(self, e: v.Event) -> None:
        s = self.session
        if e.model and not e.agent_id:
            s.meta.model = e.model
        if e.cwd and s.meta.cwd is None:
            s.meta.cwd = e.cwd
        if e.transcript_path and not e.agent_id:
            s.meta.path = e.transcript_path
        if isinstance(e, v.SessionStarted):
            self._session_started(e)
            return
        if isinstance(e, v.SessionEnded):
            self.close_all("session_end", e.t, main_only=False)
            return
        if isinstance(e, v.SubagentStarted):
            self._open_subagent(e)
            return
        if e.turn == v.CURRENT:
            e = self._in_current(e)
        if e.turn is None:
            return  # no turn to place it in
        if isinstance(e, v.SubagentStopped):
            self._subagent_stopped(e)
            return
        step = _STEPS.get(type(e))
        if step is None:
            return  # context only: it must not open a turn
        turn = self._unit_for(e)
        if turn is None:
            return
        turn.last = max(turn.last, e.t)
        if not isinstance(e, v.TurnStopped) and turn.stopped is not None and e.t > turn.stopped:
            turn.stopped = None  # a Stop hook blocked: the same turn goes on
            turn.blocks += 1
        turn.model = turn.model or e.model
        turn.path = turn.path or e.transcript_path
        turn.permission_mode = e.permission_mode or turn.permission_mode
        turn.cwd = turn.cwd or e.cwd
        getattr(self, step)(turn, e)

    def _in_current(self, e: v.Event) -> v.Event:
        """The event placed in the open main turn (none open: nowhere)."""
        mains = self._main_turns()
        return dataclasses.replace(e, turn=mains[-1].key if mains else None)

    def _session_started(self, e: v.SessionStarted) -> None:
        s = self.session
        s.meta.source = e.source
        if e.fresh and e.transcript_path:
            s.fresh = e.transcript_path
        if e.fork and e.transcript_path:
            s.fork = Fork(e.transcript_path, e.t)
        # With async hooks it may be journaled after the turn it precedes, so it closes
        # only what the agent says a new start ends.
        if e.restart:
            self.close_all("session_restart", e.t, main_only=True)

    def _subagent_stopped(self, e: v.SubagentStopped) -> None:
        assert e.turn is not None
        if self.agent.behaviour.subagent_stop_opens:
            turn = self._unit_for(e)
        else:
            turn = self.session.turns.get(e.turn)
        if turn is None:
            return
        turn.response = e.response or turn.response
        turn.agent_path = e.agent_transcript_path or turn.agent_path
        turn.last = e.t
        self.close(turn, sc.TURN_COMPLETED, "subagent_stop", e.t, e.t)

    def _prompt(self, turn: Turn, e: v.TurnStarted) -> None:
        if e.background is not None:
            self._background_done(turn, e.background)
        if e.background is None or turn.prompt is None:
            turn.prompt = e.prompt[: self.ctx.max_text] if e.prompt else None
            turn.background = e.background

    def _background_done(self, turn: Turn, note: dict[str, Any]) -> None:
        """A background task finished: the call that launched it, if its unit is still
        open, learns how (a shell's exit code). A closed call's span is out already; the
        notification turn carries the facts then."""
        for unit in [turn, *self.session.turns.values()]:
            tool = unit.tools.get(note.get("call") or "")
            if tool is not None:
                tool.background = {"status": note.get("status"), "exit": note.get("exit")}
                return

    def _model_request(self, turn: Turn, e: v.ModelRequest) -> None:
        turn.calls.append(ModelCall(e.t, kind=e.kind, request_id=e.request_id, attempt=e.attempt))

    def _model_response(self, turn: Turn, e: v.ModelResponse) -> None:
        """Answer the request this response closes: the one with its request id and
        attempt when the agent sends them, else the latest still open."""
        open_ = [c for c in turn.calls if c.end is None]
        if e.request_id is not None:
            same = [c for c in open_ if c.request_id == e.request_id]
            exact = [c for c in same if c.attempt == e.attempt]
            open_ = exact or same or [c for c in open_ if c.request_id is None]
        call = open_[-1] if open_ else None
        if call is None:
            call = ModelCall(e.t)
            turn.calls.append(call)
        usage = e.usage.to_dict() if e.usage else None
        call.end, call.status, call.error, call.usage = e.t, e.status, e.error, usage
        call.kind = e.kind if e.kind is not None else call.kind
        call.request_id = e.request_id if e.request_id is not None else call.request_id
        call.attempt = e.attempt if e.attempt is not None else call.attempt
        call.response_id = e.response_id if e.response_id is not None else call.response_id

    def _tool(self, turn: Turn, e: v.ToolEvent, call_id: str) -> ToolCall:
        tool = turn.tools.get(call_id)
        if tool is None:
            tool = turn.tools[call_id] = ToolCall(e.name or "", e.t, input=self._kept(e.input))
        if self.agent.spawns_agents(tool.name):
            self._register_call(turn, call_id)
        return tool

    def _open_call(self, turn: Turn, name: str | None) -> str | None:
        """The call of that tool still running an event that names no call is about."""
        open_ = [
            call_id
            for call_id, tool in turn.tools.items()
            if tool.name == name and tool.end is None and not tool.extra
        ]
        if not open_:
            return None
        return open_[0] if self.agent.behaviour.unnamed_call_is_oldest else open_[-1]

    def _tool_started(self, turn: Turn, e: v.ToolStarted) -> None:
        tool = self._tool(turn, e, e.call_id or f"{e.name}@{e.t}")
        tool.start = e.t
        tool.input = self._kept(e.input)
        tool.extra.update(e.extra or {})
        if e.name in turn.perm_pending:
            turn.perm_pending.remove(e.name)
            tool.permission = True
        elif None in turn.perm_pending:  # asked naming no tool: about the next call
            turn.perm_pending.remove(None)
            tool.permission = True

    def _tool_permission(self, turn: Turn, e: v.ToolPermission) -> None:
        if e.call_id is None:  # it belongs to the open call of that tool
            call_id = self._open_call(turn, e.name)
            if call_id is None:
                turn.perm_pending.append(e.name)  # asked before the call's start hook
                return
        else:
            call_id = e.call_id
        tool = self._tool(turn, e, call_id)
        tool.permission = True
        tool.denied = tool.denied or e.denied

    def _tool_finished(self, turn: Turn, e: v.ToolFinished) -> None:
        call_id = e.call_id or self._open_call(turn, e.name) or f"{e.name}@{e.t}"
        tool = self._tool(turn, e, call_id)
        tool.end = e.t
        if e.error is None:
            tool.response = self._kept(e.response)
        else:
            tool.error = self._kept(e.error)
            tool.interrupted = e.interrupted
        tool.duration_ms = e.duration_ms
        if e.spawned_agent is not None:
            tool.agent = e.spawned_agent  # the agent's own word: it overrules a guess
            self._register_call(turn, call_id)
            self.session.spawned[e.spawned_agent] = call_id
            _bound(self.session.spawned, MAX_LINKS)

    def _tool_answered(self, turn: Turn, e: v.ToolAnswered) -> None:
        call_id = e.call_id or f"{e.name}@{e.t}"
        tool = turn.tools.get(call_id)
        if tool is None:
            tool = turn.tools[call_id] = ToolCall(e.name or "", None)
        if self.agent.spawns_agents(tool.name):
            self._register_call(turn, call_id)
        tool.input = tool.input or self._kept(e.input)
        tool.visible = self._kept(e.visible)
        if tool.end is None:  # no hook said it ended: it never ran
            tool.end = e.t
            tool.ran = False

    def _register_call(self, turn: Turn, call_id: str) -> None:
        """Remember where a spawning call's span is, in whatever unit it ran, so the
        sub-agent it starts finds it, at any depth."""
        calls = self.session.calls
        if call_id in calls:
            return
        ids = assemble.SpanIds(self.agent, self.session, turn)
        calls[call_id] = Link(f"{ids.trace:x}", f"{ids.tool(call_id):x}")
        _bound(calls, MAX_LINKS)

    def _compaction(self, turn: Turn, e: v.Compaction) -> None:
        if e.phase == "pre":
            turn.compactions.append(Window(e.t, None, e.trigger))
            return
        open_ = [w for w in turn.compactions if w.end is None]
        if open_:
            open_[-1].end = e.t
        else:
            turn.compactions.append(Window(e.t, e.t, e.trigger))

    def _stopped(self, turn: Turn, e: v.TurnStopped) -> None:
        turn.response = e.response or turn.response
        turn.stop_active = turn.stop_active or e.stop_hook_active
        waits = self.agent.behaviour.stop_waits_for_transcript
        if waits and not turn.agent and os.path.isfile(turn.path or ""):
            # another Stop hook may block it: the transcript tells when the turn is over
            turn.stopped = max(e.t, turn.stopped or 0)
        else:
            self.close(turn, sc.TURN_COMPLETED, "stop", e.t, e.t)

    def _failed(self, turn: Turn, e: v.TurnFailed) -> None:
        turn.failure = e.error or "the model request failed"
        self.close(turn, sc.TURN_FAILED, "stop_failure", e.t, e.t)

    def _interrupted(self, turn: Turn, e: v.TurnInterrupted) -> None:
        self.close(turn, sc.TURN_INTERRUPTED, "interrupt", e.t, e.t)

    # --- units -----------------------------------------------------------------------

    def _main_turns(self) -> list[Turn]:
        return [t for t in self.session.turns.values() if t.agent is None]

    def _unit_for(self, e: v.Event) -> Turn | None:
        """The open unit this event belongs to, opening one if needed; None for a late
        event of a unit already closed for good (its trace is out, it stays out)."""
        s = self.session
        assert e.turn is not None
        if e.turn in s.turns:
            return s.turns[e.turn]
        closed = s.closed.get(e.turn)
        if closed is not None and not closed.stop:
            return None
        if e.agent_id:  # a sub-agent event without its start (hook not installed, or lost)
            return self._open_subagent(e)
        for other in self._main_turns():  # a new turn: the open one did not end well
            self.close(other, None, "next_turn", e.t, other.last)
        if closed is not None:  # the same turn continues after a Stop hook blocked
            # it starts where the blocked Stop left off, so the two traces tile the turn
            start = min(closed.end or e.t, e.t)
            turn = Turn(e.turn, start, start, seg=closed.seg + 1, num=closed.num)
        else:
            s.turn_count += 1
            turn = Turn(e.turn, e.t, e.t, num=s.turn_count)
        turn.parent_turn = e.turn
        s.turns[e.turn] = turn
        self.agent.opened(s, turn, e.t)
        return turn

    def _open_subagent(self, e: v.Event) -> Turn | None:
        s = self.session
        if e.turn is None or e.agent_id is None:
            return None
        if e.turn in s.turns:
            return s.turns[e.turn]
        closed = s.closed.get(e.turn)
        if closed is not None and not closed.stop:
            return None
        link = self.agent.link_subagent(s, e, self.ctx)
        s.links[e.agent_id] = link
        _bound(s.links, MAX_LINKS)
        turn = Turn(
            e.turn,
            e.t,
            e.t,
            seg=closed.seg + 1 if closed else 0,  # continued after a blocked SubagentStop
            agent=e.agent_id,
            agent_type=e.agent_type or "subagent",
            trace=link.trace,
            parent=link.span,
            task=link.task,
            path=e.transcript_path,
            model=e.model,
            parent_turn=e.parent_turn,
        )
        s.turns[e.turn] = turn
        return turn

    def settle(self) -> None:
        """Close the turns whose Stop waited, once the agent says they are over."""
        for turn in [t for t in self.session.turns.values() if t.stopped is not None]:
            if self.agent.settled(self.session, turn, max(self.ctx.now_ns, turn.stopped), self.ctx):
                self.close(turn, sc.TURN_COMPLETED, "stop", turn.stopped, turn.stopped)
        self.session.poll = any(t.stopped is not None for t in self.session.turns.values())

    def close_all(self, reason: str, t: int, main_only: bool, outcome: str | None = None) -> None:
        turns = self.session.turns
        keys = sorted(turns, key=lambda k: turns[k].agent is None)  # sub-agents first
        at_event = reason == "session_end" and self.agent.behaviour.session_end_ends_open_turns
        for key in keys:
            turn = turns[key]
            if main_only and turn.agent:
                continue
            self.close(turn, outcome, reason, t, t if at_event else turn.last)

    def close(self, turn: Turn, outcome: str | None, reason: str, cutoff: int, end: int) -> None:
        """Emit the unit's spans. `outcome` None: decide from what happened (a failed
        request, the transcript's word) or call it unfinished. A turn that ended at a Stop
        is that, whatever closes it later (the next turn, SessionEnd, expiry)."""
        s = self.session
        if turn.stopped is not None:
            outcome, reason, cutoff, end = sc.TURN_COMPLETED, "stop", turn.stopped, turn.stopped
        facts = self.agent.collect(s, turn, reason, cutoff, self.ctx)
        self.out.extend(
            assemble.build_spans(self.agent, s, turn, facts, self.ctx, outcome, reason, end)
        )
        s.turns.pop(turn.key, None)
        s.closed.pop(turn.key, None)
        s.closed[turn.key] = Closed(
            seg=turn.seg,
            num=turn.num,
            end=end,
            # a Stop hook may continue it; a turn its transcript ended takes no more events
            stop=reason in ("stop", "subagent_stop") and turn.stopped is None,
        )
        _bound(s.closed, MAX_CLOSED)
        self.agent.pruned(s, turn)
