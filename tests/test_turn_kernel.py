"""The turn kernel with an agent of nothing but hooks: what a third agent gets for free.

`Hooks` below is a whole agent: a parser from its payloads to the vocabulary, no
transcript, chat and tool rows from the hook facts alone. The cases are the ones a CLI
whose payloads name no turn after the first, nor any call, needs (Gemini CLI).
"""

from __future__ import annotations

import json
from typing import Any

from staso_otel import semconv as sc
from staso_otel.record.journal import Record
from staso_otel.span.build import Usage
from staso_otel.span.model import SpanData
from staso_otel.targets.base import Context
from staso_otel.turns import vocabulary as v
from staso_otel.turns.agent import Behaviour, ChatRow, KernelTarget, Root, ToolRow
from staso_otel.turns.state import Link

STEPS: dict[str, type[v.Event]] = {
    "start": v.TurnStarted,
    "model": v.ModelRequest,
    "answer": v.ModelResponse,
    "tool": v.ToolStarted,
    "done": v.ToolFinished,
    "ask": v.ToolPermission,
    "stop": v.TurnStopped,
    "end": v.SessionEnded,
    "noise": v.Event,
}


class Hooks:
    name = "hooks-only"
    agent_name = "hooks-only"
    provider = "test"

    def __init__(self, **behaviour: bool) -> None:
        self.behaviour = Behaviour(**behaviour)

    def parse(self, record: Record) -> list[v.Event]:
        p = dict(record.payload)
        kind, sid = STEPS[p.pop("e")], p.pop("session_id")
        if "usage" in p:
            p["usage"] = Usage(**p["usage"])
        return [kind(t=record.received_ns, session_id=sid, **p)]

    def spawns_agents(self, tool_name: str) -> bool:
        return False

    def tool_type(self, tool_name: str) -> str:
        return sc.TOOL_TYPE_FUNCTION

    def category(self, tool_name: str) -> str | None:
        return None

    def link_subagent(self, session: Any, event: v.Event, ctx: Context) -> Link:
        return Link()

    def opened(self, session: Any, turn: Any, t: int) -> None:
        pass

    def settled(self, session: Any, turn: Any, now_ns: int, ctx: Context) -> bool:
        return True

    def collect(self, session: Any, turn: Any, reason: str, cutoff: int, ctx: Context) -> None:
        return None

    def pruned(self, session: Any, turn: Any) -> None:
        pass

    def subagent_ids(self, trace: int, turn: Any, call_id: str | None) -> int:
        return 1

    def verdict(self, turn: Any, facts: Any) -> None:
        return None

    def chat_rows(self, session: Any, turn: Any, facts: Any, ctx: Context) -> tuple:
        rows = [
            ChatRow(key=k, start=c.start, end=c.end or turn.last,
                    usage=Usage.from_dict(c.usage) if c.usage else None)
            for k, c in enumerate(turn.calls)
        ]  # fmt: skip
        return rows, turn.model

    def tool_rows(self, session, turn, facts, span_ids, outcome, end) -> list[ToolRow]:
        return [
            ToolRow(call_id=k, parent=span_ids.root, start=t.start or 0, end=t.end or end,
                    name=t.name, arguments=t.input, result=t.response,
                    facts={"test.permission": t.permission})
            for k, t in turn.tools.items()
        ]  # fmt: skip

    def root(self, session: Any, turn: Any, facts: Any) -> Root:
        return Root({}, turn.prompt, turn.response)


def run(agent: Hooks, events: list[dict[str, Any]]) -> tuple[list[SpanData], dict]:
    target = KernelTarget(agent)
    records = [
        Record(agent.name, 1_000 + 10 * i, {"session_id": "s", **e}) for i, e in enumerate(events)
    ]
    state: dict[str, Any] = {}
    spans: list[SpanData] = []
    for record in records:  # one batch per event, the state saved as JSON between
        spans += target.process(state, [record], Context(now_ns=0))
        state = json.loads(json.dumps(state))
    return spans, state


def by_name(spans: list[SpanData]) -> dict[str, list[SpanData]]:
    out: dict[str, list[SpanData]] = {}
    for s in spans:
        out.setdefault(s.name.split()[0], []).append(s)
    return out


CURRENT = v.CURRENT


def test_events_naming_no_turn_join_the_open_one() -> None:
    spans, state = run(
        Hooks(),
        [
            {"e": "tool", "turn": CURRENT, "name": "ls"},  # no turn open yet: nowhere
            {"e": "start", "turn": "T1", "prompt": "hi"},
            {"e": "model", "turn": CURRENT},
            {"e": "answer", "turn": CURRENT, "usage": {"input_tokens": 7, "output_tokens": 2}},
            {"e": "tool", "turn": CURRENT, "name": "ls", "input": {"path": "."}},
            {"e": "done", "turn": CURRENT, "name": "ls", "response": "a b"},
            {"e": "stop", "turn": CURRENT, "response": "done"},
        ],
    )
    assert state["turns"] == {}
    kinds = by_name(spans)
    (root,) = kinds["invoke_agent"]
    (chat,) = kinds["chat"]
    (tool,) = kinds["execute_tool"]
    assert root.attributes[sc.STASO_TURN_OUTCOME] == sc.TURN_COMPLETED
    assert chat.parent_span_id == tool.parent_span_id == root.span_id
    assert chat.attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 7  # the hook's own usage
    assert tool.start_ns == 1_040 and tool.end_ns == 1_050  # the second ls, not the first


def test_unnamed_calls_pair_oldest_first_when_the_agent_says_so() -> None:
    events = [
        {"e": "start", "turn": "T1"},
        {"e": "tool", "turn": CURRENT, "name": "grep"},  # t=1010
        {"e": "tool", "turn": CURRENT, "name": "grep"},  # t=1020
        {"e": "done", "turn": CURRENT, "name": "grep", "response": "first"},  # t=1030
        {"e": "stop", "turn": CURRENT},
    ]
    for oldest, ended in ((True, 1_010), (False, 1_020)):
        spans, _ = run(Hooks(unnamed_call_is_oldest=oldest), events)
        finished = [s for s in by_name(spans)["execute_tool"] if s.end_ns == 1_030]
        assert [s.start_ns for s in finished] == [ended]


def test_a_permission_asked_before_its_call_starts_waits_for_it() -> None:
    spans, _ = run(
        Hooks(unnamed_call_is_oldest=True),
        [
            {"e": "start", "turn": "T1"},
            {"e": "ask", "turn": CURRENT, "name": "shell"},
            {"e": "tool", "turn": CURRENT, "name": "shell"},
            {"e": "done", "turn": CURRENT, "name": "shell"},
            {"e": "stop", "turn": CURRENT},
        ],
    )
    (tool,) = by_name(spans)["execute_tool"]
    assert tool.attributes["test.permission"] is True


def test_a_context_only_event_opens_nothing() -> None:
    spans, state = run(Hooks(), [{"e": "noise", "turn": "T9", "cwd": "/w"}, {"e": "end"}])
    assert spans == [] and state["turns"] == {} and state["meta"]["cwd"] == "/w"


def test_a_permission_naming_no_tool_is_about_the_next_call() -> None:
    spans, _ = run(
        Hooks(unnamed_call_is_oldest=True),
        [
            {"e": "start", "turn": "T1"},
            {"e": "ask", "turn": CURRENT},
            {"e": "tool", "turn": CURRENT, "name": "write_file", "call_id": "w"},
            {"e": "done", "turn": CURRENT, "name": "write_file", "call_id": "w"},
            {"e": "tool", "turn": CURRENT, "name": "read_file", "call_id": "r"},
            {"e": "done", "turn": CURRENT, "name": "read_file", "call_id": "r"},
            {"e": "stop", "turn": CURRENT},
        ],
    )
    asked = {s.attributes["gen_ai.tool.name"]: s.attributes["test.permission"]
             for s in by_name(spans)["execute_tool"]}  # fmt: skip
    assert asked == {"write_file": True, "read_file": False}
