"""The byte filters that decide, before decoding, whether a transcript line is read.

Each is one regular-expression pass over the line; what each must answer is said plainly
below, as `in` tests of its markers (the form they had, at a third of the speed). On any
JSON line, however the markers nest and repeat, the pass answers the same, and so it
does on every recorded line.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from staso_otel.targets.claude_code import backfill as claude_backfill
from staso_otel.targets.claude_code import transcript as claude_transcript
from staso_otel.targets.codex import backfill as codex_backfill

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def claude_unused(raw: bytes) -> bool:
    passed = any(m in raw for m in claude_transcript._PASSED)
    return passed and not any(m in raw for m in claude_transcript._READ)


def claude_wanted(raw: bytes) -> bool:
    if any(s in raw for s in claude_backfill._SKIP):
        return False
    return claude_backfill._ATTACHMENT not in raw or claude_backfill._QUEUED in raw


def codex_wanted(raw: bytes) -> bool:
    return any(w in raw for w in codex_backfill._WANTED)


FILTERS = [
    (claude_transcript.unused, claude_unused),
    (claude_backfill._wanted, claude_wanted),
    (codex_backfill._wanted, codex_wanted),
]

# every marker's word, its neighbours, and near misses
WORDS = [
    "type", "user", "assistant", "api-request", "api-request-shape", "api-request-blob",
    "api-request-x", "attachment", "attachments", "queue-operation", "queued_command",
    "session_meta", "task_started", "task_complete", "turn_aborted", "function_call",
    "function_call_output", "custom_tool_call", "exec-1", "exec", "payload", "message",
    'a "type":"user" quoted', "",
]  # fmt: skip
words = st.sampled_from(WORDS)
values = st.recursive(
    words | st.integers(0, 9) | st.booleans(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(words, inner, max_size=4),
    max_leaves=12,
)
# a line of a type (top level, or its payload's), holding anything
lines = st.builds(
    lambda kind, rest, nested: orjson.dumps({"type": kind, **rest, "payload": nested}),
    words,
    st.dictionaries(words, values, max_size=5),
    st.dictionaries(st.just("type"), words) | values,
)


@settings(max_examples=400, deadline=None)
@given(lines)
def test_each_filter_answers_as_its_markers_say_on_any_json_line(raw):
    for fast, plain in FILTERS:
        assert fast(raw) == plain(raw), (fast.__module__, raw)


def _recorded_lines() -> list[bytes]:
    out = []
    for path in sorted(FIXTURES.glob("**/*.jsonl")):
        out += path.read_bytes().splitlines()
    return out


@pytest.mark.parametrize(
    "fast, plain", FILTERS, ids=["claude-unused", "claude-wanted", "codex-wanted"]
)
def test_each_filter_answers_as_its_markers_say_on_every_recorded_line(fast, plain):
    recorded = _recorded_lines()
    assert len(recorded) > 1000
    answers = [fast(raw) for raw in recorded]
    assert answers == [plain(raw) for raw in recorded]
    assert any(answers) and not all(answers)  # the recordings hold both kinds
