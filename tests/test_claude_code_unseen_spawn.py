"""A Claude Code sub-agent whose Agent (Task) call no one saw hangs under a span that exists.

Hooks installed mid-session, or a lost PreToolUse, leave a sub-agent whose meta.json names
a spawning call that no hook reported and, when the transcript lacks it too, no span was
made for. Its spans must then hang under the nearest unit that is exported (the turn's
root, or at depth 2 the sub-agent that made the call), or be the root of the trace when
that unit was never seen either, and say so (`staso.agent.parent_inferred`). The oracle is
structural: every parent id an exported span names is the id of an exported span.

The sessions are the recorded `agent`, `fan` and `nest` fixtures with the Agent calls taken
out of the hook payloads (PreToolUse, PostToolUse, PostToolBatch) and the transcripts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from replay_claude import FIXTURES_CLAUDE, Transcripts, load_events, replay

from staso_otel import semconv as sc
from staso_otel.span.model import SpanData

SPAWNERS = ("Agent", "Task")


def _session(
    name: str, home: Path, *, hooks: bool, transcripts: bool
) -> list[tuple[int, dict[str, Any]]]:
    """The fixture's events and transcripts (written under `home`), with the spawning
    calls removed from the hooks and / or the transcripts."""
    events = load_events(FIXTURES_CLAUDE / name, home)
    calls = {p.get("tool_use_id") for _, p in events if p.get("tool_name") in SPAWNERS}
    assert calls
    for dst, lines in Transcripts(FIXTURES_CLAUDE / name, home).files:
        if transcripts:
            lines = [(t, raw) for t, raw in lines if not any(c.encode() in raw for c in calls)]
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(b"".join(raw for _, raw in lines))
    if hooks:
        events = [(t, p) for t, p in events if p.get("tool_use_id") not in calls]
        for _, payload in events:
            if isinstance(payload.get("tool_calls"), list):
                payload["tool_calls"] = [
                    c for c in payload["tool_calls"] if c.get("tool_use_id") not in calls
                ]
    return events


def _spans(name: str, tmp_path: Path, events: list) -> list[SpanData]:
    return replay(
        FIXTURES_CLAUDE / name, tmp_path / "home", events=events, keep_transcripts=True
    ).spans


def _dangling(spans: list[SpanData]) -> list[str]:
    sent = {(s.trace_id, s.span_id) for s in spans}
    return [
        s.name for s in spans if s.parent_span_id and (s.trace_id, s.parent_span_id) not in sent
    ]


def _subagents(spans: list[SpanData]) -> list[SpanData]:
    return [s for s in spans if s.attributes.get(sc.GEN_AI_AGENT_ID)]


@pytest.mark.parametrize("name", ["agent", "fan", "nest"])
def test_a_subagent_whose_spawning_call_was_never_seen_hangs_under_a_sent_span(
    tmp_path: Path, name: str
) -> None:
    events = _session(name, tmp_path / "home", hooks=True, transcripts=True)
    spans = _spans(name, tmp_path, events)
    assert not [s for s in spans if s.name.startswith("execute_tool Agent")]  # gone indeed
    subs = _subagents(spans)
    assert subs
    assert _dangling(spans) == []
    by_id = {s.span_id: s for s in spans}
    for sub in subs:
        parent = by_id[sub.parent_span_id]
        inferred = sub.attributes[sc.STASO_AGENT_PARENT_INFERRED]
        if parent.attributes.get(sc.GEN_AI_AGENT_ID):  # depth 2: under the sub-agent's root
            assert inferred == "agent"
        else:
            assert parent.parent_span_id is None and parent.name == "invoke_agent claude-code"
            assert inferred == "turn"
        assert sub.trace_id == parent.trace_id
    # what the sub-agents did still hangs under them
    assert all(by_id[s.parent_span_id] in subs for s in spans if s.name == "execute_tool Bash")


def test_a_subagent_whose_turn_was_never_seen_is_the_root_of_its_trace(tmp_path: Path) -> None:
    """Hooks installed after the parent's Stop, while its background sub-agent ran."""
    events = _session("agent", tmp_path / "home", hooks=False, transcripts=False)
    stop = next(i for i, (_, p) in enumerate(events) if p["hook_event_name"] == "Stop")
    spans = _spans("agent", tmp_path, events[stop + 1 :])
    (sub,) = _subagents(spans)
    assert sub.parent_span_id is None
    assert sub.attributes[sc.STASO_AGENT_PARENT_INFERRED] == "none"
    assert _dangling(spans) == []


def test_a_spawning_call_only_the_transcript_holds_keeps_the_subagent_under_it(
    tmp_path: Path,
) -> None:
    """The hooks lost the call but the transcript has it: its span is built from there,
    and the sub-agent hangs under that call as Claude Code named it, not inferred."""
    events = _session("agent", tmp_path / "home", hooks=True, transcripts=False)
    spans = _spans("agent", tmp_path, events)
    (sub,) = _subagents(spans)
    parent = next(s for s in spans if s.span_id == sub.parent_span_id)
    assert parent.name == "execute_tool Agent"
    assert sc.STASO_AGENT_PARENT_INFERRED not in sub.attributes
    assert _dangling(spans) == []
