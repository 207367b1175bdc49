"""Random event sequences never break the Codex reducer: no exception, JSON state, no span
emitted twice, no orphan (every parent is emitted), nothing left open after expiry."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from replay import run_random

from staso_otel.targets.codex.install import ALL_EVENTS

KINDS = [*ALL_EVENTS, "Unknown"]
TOOLS = ["Bash", "apply_patch", "spawn_agent", "collaborationspawn_agent", "mcp__s__t", "x"]

event = st.fixed_dictionaries(
    {
        "hook_event_name": st.sampled_from(KINDS),
        "turn_id": st.sampled_from(["t1", "t2", "t3", None]),
        "agent_id": st.sampled_from([None, None, "A", "B"]),
        "tool_name": st.sampled_from(TOOLS),
        "tool_use_id": st.sampled_from(["c1", "c2", "exec-1", None]),
        "status": st.sampled_from(["completed", "failed", None]),
        "source": st.sampled_from(["startup", "resume", "compact"]),
        "stop_hook_active": st.booleans(),
        "tool_response": st.sampled_from(['{"agent_id": "A"}', "ok", None, {"isError": True}]),
        "token_usage": st.sampled_from([None, {"input_tokens": 3, "output_tokens": 1}]),
    }
)


@settings(max_examples=150, deadline=None)
@given(st.lists(event, max_size=40), st.integers(1, 5))
def test_random_sequences(events: list[dict[str, Any]], batch: int) -> None:
    spans, state = run_random(
        "codex", [{k: v for k, v in e.items() if v is not None} for e in events], batch
    )
    assert state["turns"] == {} if events else True
    keys = [(s.trace_id, s.span_id) for s in spans]
    assert len(keys) == len(set(keys)), "a span emitted twice"
    emitted = set(keys)
    for span in spans:
        if span.parent_span_id is not None:
            assert (span.trace_id, span.parent_span_id) in emitted, span.name
        assert span.end_ns >= span.start_ns
