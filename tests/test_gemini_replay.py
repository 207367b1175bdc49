"""Every recorded Gemini CLI session, replayed through the hook and the target.

The oracle for tokens is what the mock answered when the recording was made
(answers.json, one entry per scripted model response, in order); the oracle for tool
facts is what the commands did (`exit 3` exits 3, `cat notes.txt` exits 0, write_file
adds one line, replace adds a second).
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest
from replay_gemini import fixtures, replay

from staso_otel import semconv as sc
from staso_otel.span.model import SpanData

RUNS = [p.name for p in fixtures()]
ROOT = "invoke_agent gemini-cli"


def _answers(fixture: Path) -> list[dict]:
    return json.loads((fixture / "answers.json").read_text())


def _chats(spans: list[SpanData]) -> list[SpanData]:
    chats = [s for s in spans if s.attributes.get(sc.GEN_AI_OPERATION_NAME) == sc.OP_CHAT]
    return sorted(chats, key=lambda s: s.end_ns)


def _tools(spans: list[SpanData], name: str) -> list[SpanData]:
    return [s for s in spans if s.name == f"execute_tool {name}"]


@pytest.fixture(params=RUNS)
def fixture(request: pytest.FixtureRequest) -> Path:
    return Path(__file__).parent / "fixtures" / "gemini" / request.param


def test_recordings_exist_for_both_releases():
    assert {"work-0.60.0", "work-0.61.0"} <= set(RUNS)


def test_every_turn_model_call_and_tool_call_once_with_the_mocks_tokens(fixture, tmp_path):
    spans = replay(fixture, tmp_path / "home").spans
    assert max(Counter((s.trace_id, s.span_id) for s in spans).values()) == 1
    roots = sorted((s for s in spans if s.name == ROOT), key=lambda s: s.start_ns)
    prompts = [
        json.loads(line)["payload"]["prompt"]
        for line in (fixture / "hooks.jsonl").read_text().splitlines()
        if json.loads(line)["payload"]["hook_event_name"] == "BeforeAgent"
    ]
    assert [r.attributes[sc.INPUT_VALUE] for r in roots] == prompts
    for root in roots:
        assert root.attributes[sc.STASO_TURN_OUTCOME] == sc.TURN_COMPLETED
        children = [s for s in spans if s.trace_id == root.trace_id and s is not root]
        assert children and all(s.parent_span_id == root.span_id for s in children)
    answers = _answers(fixture)
    chats = _chats(spans)
    assert len(chats) == len(answers)
    for chat, answer in zip(chats, answers, strict=True):
        u, a = answer["usage"], chat.attributes
        assert a[sc.GEN_AI_USAGE_INPUT_TOKENS] == u["promptTokenCount"]
        assert a[sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == u["cachedContentTokenCount"]
        assert a[sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] == u["thoughtsTokenCount"]
        out = u["candidatesTokenCount"] + u["thoughtsTokenCount"]
        assert a[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == out
        assert a[sc.LLM_TOKEN_COUNT_TOTAL] == u["totalTokenCount"]
        assert chat.start_ns <= chat.end_ns
    turn_input = sum(r.attributes[sc.STASO_USAGE_INPUT_TOKENS] for r in roots)
    assert turn_input == sum(a["usage"]["promptTokenCount"] for a in answers)
    assert sum(r.attributes[sc.STASO_USAGE_MODEL_CALLS] for r in roots) == len(answers)
    calls = [p for a in answers for p in a["parts"] if "functionCall" in p]
    tools = [s for s in spans if s.attributes.get(sc.GEN_AI_OPERATION_NAME) == sc.OP_EXECUTE_TOOL]
    assert sorted(s.name for s in tools) == sorted(
        f"execute_tool {c['functionCall']['name']}" for c in calls
    )
    assert all(s.attributes[sc.GEN_AI_TOOL_CALL_ID] for s in tools)


def test_shell_exit_codes_and_file_diffs(fixture, tmp_path):
    spans = replay(fixture, tmp_path / "home").spans
    shells = {s.attributes[sc.STASO_SHELL_COMMAND]: s for s in _tools(spans, "run_shell_command")}
    failed = shells["echo oops >&2; exit 3"]
    assert failed.attributes[sc.STASO_SHELL_EXIT_CODE] == 3
    assert failed.attributes[sc.ERROR_TYPE] == "exit_code"
    assert failed.attributes[sc.STASO_SHELL_STDOUT] == "oops"
    assert failed.attributes[sc.STASO_TOOL_CATEGORY] == sc.CATEGORY_SHELL
    if "cat notes.txt" in shells:
        ok = shells["cat notes.txt"]
        assert ok.attributes[sc.STASO_SHELL_EXIT_CODE] == 0
        assert sc.ERROR_TYPE not in ok.attributes
        assert ok.attributes[sc.STASO_SHELL_STDOUT] == "first line\nsecond line"
    (write,) = _tools(spans, "write_file")
    assert write.attributes[sc.STASO_FILE_DIFF].startswith("--- /dev/null\n+++ b/notes.txt\n")
    assert "+first line\n" in write.attributes[sc.STASO_FILE_DIFF]
    assert write.attributes[sc.STASO_FILE_LINES_ADDED] == 1
    (edit,) = _tools(spans, "replace")
    diff = edit.attributes[sc.STASO_FILE_DIFF]
    assert diff.startswith("--- a/notes.txt\n+++ b/notes.txt\n") and "+second line\n" in diff
    assert (
        edit.attributes[sc.STASO_FILE_LINES_ADDED],
        edit.attributes[sc.STASO_FILE_LINES_REMOVED],
    ) == (1, 0)
    assert edit.attributes[sc.STASO_TOOL_CATEGORY] == sc.CATEGORY_FILE
    (read,) = _tools(spans, "read_file")
    assert read.attributes[sc.GEN_AI_TOOL_CALL_RESULT] == "first line\nsecond line\n"


def _shape(spans: list[SpanData]) -> dict:
    return {(s.trace_id, s.span_id): (s.name, dict(s.attributes)) for s in spans}


def _apart(monkeypatch: pytest.MonkeyPatch, folder: Path) -> Path:
    """A STASO_HOME of its own: two replays of one session must not share a journal."""
    monkeypatch.setenv("STASO_HOME", str(folder / "staso"))
    return folder / "home"


def test_a_worker_that_keeps_up_builds_the_same_spans(fixture, tmp_path, monkeypatch):
    lagging = replay(fixture, _apart(monkeypatch, tmp_path / "a")).spans
    keeping_up = replay(fixture, _apart(monkeypatch, tmp_path / "b"), worker="event").spans
    assert _shape(keeping_up).keys() == _shape(lagging).keys()
    for key, (name, attrs) in _shape(lagging).items():
        other = _shape(keeping_up)[key][1]
        for k, v in attrs.items():
            if "token" in k or k in (sc.STASO_SHELL_EXIT_CODE, sc.STASO_FILE_DIFF):
                assert other.get(k) == v, (name, k)


def test_every_event_subscribed_changes_nothing(fixture, tmp_path, monkeypatch):
    """AfterModel (once per streamed chunk) and PreCompress (before every request) are
    not installed; a user who subscribes them still gets one span per call, no
    compaction counted."""
    base = _shape(replay(fixture, _apart(monkeypatch, tmp_path / "a")).spans)
    every = replay(fixture, _apart(monkeypatch, tmp_path / "b"), every=True).spans
    assert _shape(every).keys() == base.keys()
    assert all(sc.STASO_COMPACTIONS not in s.attributes for s in every)


def _with_lines(fixture: Path, folder: Path, before: str, line: dict) -> Path:
    """A copy of `fixture` whose hooks.jsonl has `line` (a payload) inserted just before
    the first event of kind `before`, received a moment earlier."""
    copy = folder / fixture.name
    shutil.copytree(fixture, copy)
    out, done = [], False
    for raw in (fixture / "hooks.jsonl").read_text().splitlines():
        data = json.loads(raw)
        if not done and data["payload"]["hook_event_name"] == before:
            base = {k: data["payload"][k] for k in ("session_id", "transcript_path", "cwd")}
            extra = {"t": data["t"] - 0.001, "payload": {**base, **line}}
            out.append(json.dumps(extra))
            done = True
        out.append(raw)
    (copy / "hooks.jsonl").write_text("\n".join(out) + "\n")
    return copy


def test_a_tool_permission_notification_marks_the_call_it_precedes(fixture, tmp_path):
    """Notification (ToolPermission) names no tool and comes before the call's BeforeTool
    (the CLI asks, then runs the call): the next call is the one the user was asked about."""
    note = {
        "hook_event_name": "Notification",
        "timestamp": "2026-12-01T00:00:00.000Z",
        "notification_type": "ToolPermission",
        "message": "Tool Shell requires execution",
        "details": {"type": "exec", "title": "Shell", "command": "echo oops >&2; exit 3"},
    }
    asked = _with_lines(fixture, tmp_path, "BeforeTool", note)
    spans = replay(asked, tmp_path / "home").spans
    shells = _tools(spans, "run_shell_command")
    first = min(shells, key=lambda s: s.start_ns)
    assert first.attributes[sc.STASO_TOOL_PERMISSION_REQUESTED] is True
    others = [s for s in spans if s.name.startswith("execute_tool") and s is not first]
    assert all(sc.STASO_TOOL_PERMISSION_REQUESTED not in s.attributes for s in others)
