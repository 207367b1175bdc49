"""Random event sequences never break the Claude Code reducer: no exception, JSON state,
no span emitted twice, nothing left open after expiry, every parent in its trace known."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from replay import run_random

from staso_otel.targets.claude_code.events import ALL

KINDS = [*ALL, "MessageDisplay", "Unknown"]
TOOLS = ["Bash", "Edit", "Write", "Agent", "TodoWrite", "mcp__s__t", "x"]

event = st.fixed_dictionaries(
    {
        "hook_event_name": st.sampled_from(KINDS),
        "prompt_id": st.sampled_from(["p1", "p2", "p3", None]),
        "agent_id": st.sampled_from([None, None, "A", "B"]),
        "tool_name": st.sampled_from(TOOLS),
        "tool_use_id": st.sampled_from(["c1", "c2", "c3", None]),
        "tool_input": st.sampled_from([{"command": "ls"}, {"file_path": "/x"}, "raw", None]),
        "tool_response": st.sampled_from(
            [{"agentId": "A"}, {"stdout": "ok"}, {"structuredPatch": "bad"}, "text", None]
        ),
        "error": st.sampled_from(["Exit code 3\noops", "boom", None, 7]),
        "tool_calls": st.sampled_from(
            [None, [{"tool_use_id": "c2", "tool_name": "Edit", "tool_response": "denied"}], "x"]
        ),
        "source": st.sampled_from(["startup", "resume", "compact"]),
        "transcript_path": st.sampled_from(["/nonexistent/t.jsonl", None, 5]),
        "duration_ms": st.sampled_from([None, 12, "slow"]),
    }
)


@settings(max_examples=150, deadline=None)
@given(st.lists(event, max_size=40), st.integers(1, 5))
def test_random_sequences(events: list[dict[str, Any]], batch: int) -> None:
    spans, state = run_random(
        "claude-code", [{k: v for k, v in e.items() if v is not None} for e in events], batch
    )
    assert state["turns"] == {} if events else True
    keys = [(s.trace_id, s.span_id) for s in spans]
    assert len(keys) == len(set(keys)), "a span emitted twice"
    for span in spans:
        assert span.end_ns >= span.start_ns
