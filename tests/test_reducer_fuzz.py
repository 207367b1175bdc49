"""Random hook event sequences never break an agent's reducer: no exception, state that
survives JSON as the worker saves it, no span emitted twice, no span ending before it
starts, nothing left open after a day's expiry, and every parent a span names emitted.

Each agent gives only its facts: the events it knows and the payload fields they carry,
each with well-formed, malformed and absent values (a new agent adds an entry here).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from replay import run_random

from staso_otel.targets.claude_code.events import ALL as CLAUDE_EVENTS
from staso_otel.targets.codex.install import ALL_EVENTS as CODEX_EVENTS
from staso_otel.targets.gemini.events import AFTER_MODEL, PRE_COMPRESS
from staso_otel.targets.gemini.events import ALL as GEMINI_EVENTS

CODEX = {
    "hook_event_name": [*CODEX_EVENTS, "Unknown"],
    "turn_id": ["t1", "t2", "t3", None],
    "agent_id": [None, None, "A", "B"],
    "tool_name": [
        "Bash",
        "apply_patch",
        "spawn_agent",
        "collaborationspawn_agent",
        "mcp__s__t",
        "x",
    ],
    "tool_use_id": ["c1", "c2", "exec-1", None],
    "status": ["completed", "failed", None],
    "source": ["startup", "resume", "compact"],
    "stop_hook_active": [True, False],
    "tool_response": ['{"agent_id": "A"}', "ok", None, {"isError": True}],
    "token_usage": [None, {"input_tokens": 3, "output_tokens": 1}],
}

CLAUDE_CODE = {
    "hook_event_name": [*CLAUDE_EVENTS, "MessageDisplay", "Unknown"],
    "prompt_id": ["p1", "p2", "p3", None],
    "agent_id": [None, None, "A", "B"],
    "tool_name": ["Bash", "Edit", "Write", "Agent", "TodoWrite", "mcp__s__t", "x"],
    "tool_use_id": ["c1", "c2", "c3", None],
    "tool_input": [{"command": "ls"}, {"file_path": "/x"}, "raw", None],
    "tool_response": [{"agentId": "A"}, {"stdout": "ok"}, {"structuredPatch": "bad"}, "text", None],
    "error": ["Exit code 3\noops", "boom", None, 7],
    "tool_calls": [None, [{"tool_use_id": "c2", "tool_name": "Edit", "tool_response": "no"}], "x"],
    "source": ["startup", "resume", "compact"],
    "transcript_path": ["/nonexistent/t.jsonl", None, 5],
    "duration_ms": [None, 12, "slow"],
}

_GEMINI_REQUEST = {"model": "gemini-3.8-flash", "messages": [{"role": "user", "content": "hi"}]}
_GEMINI_CHUNK = {"candidates": [{"content": {"role": "model", "parts": [{"text": "o"}]}}]}
_GEMINI_LAST = {
    "candidates": [{"content": {"parts": [{"text": "k"}]}, "finishReason": "STOP"}],
    "usageMetadata": {"promptTokenCount": 7, "candidatesTokenCount": 2, "totalTokenCount": 9},
}
_GEMINI_ODD = {"candidates": [{"finishReason": "STOP"}], "usageMetadata": [1]}
GEMINI = {
    "hook_event_name": [
        *GEMINI_EVENTS,
        AFTER_MODEL,
        PRE_COMPRESS,
        "BeforeToolSelection",
        "Unknown",
    ],
    "timestamp": ["2026-12-01T22:39:28.821Z", "2026-12-01T22:39:29Z", "yesterday", 5, None],
    "prompt": ["list the files", "", None, ["x"]],
    "prompt_response": ["done", None, {"text": "x"}],
    "llm_request": [_GEMINI_REQUEST, {"model": 3, "messages": "x"}, None, "raw"],
    "llm_response": [_GEMINI_CHUNK, _GEMINI_LAST, _GEMINI_ODD, {"candidates": "x"}, None],
    "tool_name": ["run_shell_command", "write_file", "replace", "read_file", "mcp_s_t", 7],
    "tool_input": [{"command": "ls"}, {"file_path": "/x", "content": "a\n"}, "raw", None],
    "tool_response": [
        {"llmContent": "Output: x\nExit Code: 3", "returnDisplay": "x"},
        {"llmContent": None, "error": "boom"},
        "text",
        None,
    ],
    "source": ["startup", "resume", "clear", None],
    "reason": ["exit", None],
    "stop_hook_active": [True, False, None],
    "transcript_path": ["/nonexistent/session.jsonl", None, 5],
}

AGENTS = {"codex": CODEX, "claude-code": CLAUDE_CODE, "gemini": GEMINI}


def _events(facts: dict[str, list[Any]]) -> st.SearchStrategy[list[dict[str, Any]]]:
    event = st.fixed_dictionaries({key: st.sampled_from(values) for key, values in facts.items()})
    return st.lists(event.map(lambda e: {k: v for k, v in e.items() if v is not None}), max_size=40)


@pytest.mark.parametrize("target", sorted(AGENTS))
@settings(max_examples=150, deadline=None)
@given(data=st.data(), batch=st.integers(1, 5))
def test_random_event_sequences_leave_a_sound_trace(target: str, data, batch: int) -> None:
    events = data.draw(_events(AGENTS[target]), label="events")
    spans, state = run_random(target, events, batch)
    assert state["turns"] == {} if events else True, "a turn left open after expiry"
    keys = [(s.trace_id, s.span_id) for s in spans]
    assert len(keys) == len(set(keys)), "a span emitted twice"
    emitted = set(keys)
    for span in spans:
        assert span.end_ns >= span.start_ns, span.name
        if span.parent_span_id is not None:
            assert (span.trace_id, span.parent_span_id) in emitted, f"orphan {span.name}"
