"""Codex tool names, categories and facts; hook payload parsing; rollout line parsing."""

from __future__ import annotations

import json

import pytest

from staso_otel import semconv as sc
from staso_otel.record.journal import Record
from staso_otel.targets.codex import events, tools, transcript
from staso_otel.turns import vocabulary
from staso_otel.turns.state import MAX_TEXT


@pytest.mark.parametrize(
    "hook_name,canonical,category",
    [
        ("Bash", "exec_command", sc.CATEGORY_SHELL),
        ("apply_patch", "apply_patch", sc.CATEGORY_FILE),
        ("collaborationspawn_agent", "spawn_agent", sc.CATEGORY_MULTI_AGENT),
        ("collaborationwait_agent", "wait_agent", sc.CATEGORY_MULTI_AGENT),
        ("multi_agent_v1wait_agent", "wait_agent", sc.CATEGORY_MULTI_AGENT),
        ("spawn_agent", "spawn_agent", sc.CATEGORY_MULTI_AGENT),
        ("mcp__demo__echo", "mcp__demo__echo", sc.CATEGORY_MCP),
        ("view_image", "view_image", sc.CATEGORY_SYSTEM),
        ("update_plan", "update_plan", sc.CATEGORY_PLANNING),
        ("request_user_input", "request_user_input", sc.CATEGORY_PLANNING),
        ("spawn_agents_on_csv", "spawn_agents_on_csv", sc.CATEGORY_BATCH),
        ("exec", "exec", sc.CATEGORY_CODE),
        ("some_new_tool", "some_new_tool", sc.CATEGORY_OTHER),
    ],
)
def test_hook_names(hook_name: str, canonical: str, category: str) -> None:
    assert tools.canonical_hook_name(hook_name) == canonical
    assert tools.category(canonical) == category


def test_transcript_names() -> None:
    assert tools.canonical_transcript_name("echo", "mcp__demo") == "mcp__demo__echo"
    assert tools.canonical_transcript_name("spawn_agent", "collaboration") == "spawn_agent"
    assert tools.mcp_parts("mcp__demo__echo") == ("demo", "echo")
    assert tools.mcp_parts("exec_command") is None


def test_shell_facts_from_output_text_alone() -> None:
    text = "Chunk ID: ab\nWall time: 1.5 seconds\nProcess exited with code 2\nOutput:\nboom\n"
    f = tools.facts("exec_command", '{"cmd": "false"}', None, None, text)
    assert f.attrs[sc.STASO_SHELL_COMMAND] == "false"
    assert f.attrs[sc.STASO_SHELL_EXIT_CODE] == 2
    assert f.attrs[sc.STASO_SHELL_WALL_TIME_S] == 1.5
    assert f.attrs[sc.STASO_SHELL_STDOUT] == "boom\n"
    assert f.error_type == "exit_code"
    running = "Chunk ID: x\nWall time: 0.25 seconds\nProcess running with session ID 77\nOutput:\n"
    f = tools.facts("exec_command", {"cmd": "sleep 9"}, None, None, running)
    assert f.attrs[sc.STASO_SHELL_PTY_SESSION_ID] == "77"
    assert f.attrs[sc.STASO_SHELL_EXIT_CODE] is None and f.error_type is None


def test_shell_item_wins_over_text() -> None:
    item = {
        "type": "CommandExecution",
        "command": ["/bin/bash", "-lc", "ls"],
        "aggregated_output": "a\n",
        "exit_code": 0,
        "cwd": "file:///w",
        "duration": {"secs": 1, "nanos": 500_000_000},
    }
    f = tools.facts("exec_command", {"command": "ls"}, "a\n", item, None)
    assert f.attrs[sc.STASO_SHELL_EXIT_CODE] == 0
    assert f.attrs[sc.STASO_SHELL_WALL_TIME_S] == 1.5
    assert f.attrs[sc.STASO_SHELL_CWD] == "/w"


def test_patch_parsed_without_transcript() -> None:
    patch = (
        "*** Begin Patch\n*** Add File: new.txt\n+one\n+two\n*** Update File: old.txt\n@@\n"
        "-a\n+b\n c\n*** Delete File: gone.txt\n*** End Patch"
    )
    f = tools.facts("apply_patch", {"command": patch}, "Exit code: 0\nOutput:\nSuccess", None)
    changes = {c["path"]: c for c in f.attrs[sc.STASO_FILE_CHANGES]}
    assert changes["new.txt"]["added"] == 2 and changes["new.txt"]["kind"] == "add"
    assert changes["old.txt"]["added"] == 1 and changes["old.txt"]["removed"] == 1
    assert changes["gone.txt"]["kind"] == "delete"
    assert f.attrs[sc.STASO_FILE_LINES_ADDED] == 3
    assert f.attrs[sc.STASO_FILE_PATHS] == ["new.txt", "old.txt", "gone.txt"]
    assert "+++ b/new.txt" in f.attrs[sc.STASO_FILE_DIFF]
    assert f.error_type is None


def test_patch_failure_and_legacy_output() -> None:
    failed = {"type": "FileChange", "changes": {}, "status": "failed", "stderr": "no such file"}
    f = tools.facts("apply_patch", {"command": "*** Begin Patch\n*** End Patch"}, None, failed)
    assert f.error_type == "failed"
    legacy = json.dumps({"output": "x", "metadata": {"exit_code": 1, "duration_seconds": 0}})
    f = tools.facts("apply_patch", "*** Begin Patch\n*** End Patch", None, None, legacy)
    assert f.error_type == "exit_code"


def test_blocked_and_unsupported_calls() -> None:
    f = tools.facts(
        "exec_command",
        {"cmd": "rm"},
        None,
        None,
        "Command blocked by PreToolUse hook: no. Command: rm",
    )
    assert f.error_type == "blocked" and f.attrs[sc.STASO_TOOL_BLOCKED] is True
    f = tools.facts("update_plan", {"plan": []}, None, None, "unsupported call: update_plan")
    assert f.error_type == "unsupported_call"


def test_mcp_error_result() -> None:
    result = {"content": [{"type": "text", "text": "bad input"}], "isError": True}
    f = tools.facts("mcp__demo__echo", {"text": 1}, result)
    assert f.attrs[sc.STASO_MCP_IS_ERROR] is True
    assert f.attrs[sc.STASO_MCP_SERVER] == "demo"
    assert f.error_type == "mcp_error" and f.error_message == "bad input"


def test_multi_agent_facts() -> None:
    f = tools.facts(
        "spawn_agent", {"task_name": "/root/x", "message": "go"}, '{"task_name": "/root/x"}'
    )
    assert f.attrs[sc.STASO_AGENT_TASK_NAME] == "/root/x"
    f = tools.facts("send_message", {"target": "/root/x", "message": "hi"}, "{}")
    assert f.attrs[sc.STASO_AGENT_TARGET] == "/root/x"
    assert f.attrs[sc.STASO_AGENT_IDS] == ["/root/x"]
    f = tools.facts("wait_agent", {"targets": ["a"]}, '{"status": {}, "timed_out": true}')
    assert f.attrs[sc.STASO_AGENT_TIMED_OUT] is True


def test_event_parse_both_generations() -> None:
    payload = {
        "session_id": "s",
        "hook_event_name": "PostModelRequest",
        "turn_id": "t",
        "status": "completed",
        "token_usage": {
            "input_tokens": 9,
            "output_tokens": 2,
            "cached_input_tokens": 4,
            "reasoning_output_tokens": 1,
            "total_tokens": 11,
        },
    }
    (e,) = events.parse(Record("codex", 5, payload))
    assert isinstance(e, vocabulary.ModelResponse) and e.t == 5 and e.turn == "t"
    assert e.usage is not None and e.usage.cache_read_tokens == 4 and e.usage.total == 11
    assert events.parse(Record("codex", 1, {"hook_event_name": "Stop"})) == []
    (odd,) = events.parse(Record("codex", 1, {"session_id": "s", "hook_event_name": "New"}))
    assert type(odd) is vocabulary.Event  # context only: it opens and closes nothing
    assert events.LEGACY <= events.ALL and len(events.ALL) == 14


def test_rollout_lines_to_facts() -> None:
    def line(kind: str, payload: dict, **extra) -> dict:
        return {"timestamp": "2026-11-23T22:00:21.000Z", "type": kind, "payload": payload, **extra}

    fstate: dict = {}
    tx: dict = {}
    transcript.ingest(
        fstate,
        [
            line("session_meta", {"cli_version": "0.125.0"}),
            line("event_msg", {"type": "task_started", "turn_id": "T"}),
            line("event_msg", {"type": "user_message", "message": "hi"}),
            line(
                "response_item",
                {
                    "type": "function_call",
                    "name": "exec_command",
                    "arguments": "{}",
                    "call_id": "c1",
                },
            ),
            line(
                "event_msg",
                {
                    "type": "token_count",
                    "info": {
                        "total_token_usage": {"total_tokens": 10},
                        "last_token_usage": {"total_tokens": 10},
                    },
                },
            ),
            line(
                "event_msg",
                {
                    "type": "token_count",
                    "info": {
                        "total_token_usage": {"total_tokens": 10},
                        "last_token_usage": {"total_tokens": 10},
                    },
                },
            ),
            line("response_item", {"type": "function_call_output", "call_id": "c1", "output": "x"}),
            line(
                "event_msg",
                {
                    "type": "patch_apply_end",
                    "call_id": "c2",
                    "success": False,
                    "changes": {"a": {"type": "add", "content": "x\n"}},
                },
            ),
        ],
        tx,
        most=MAX_TEXT,
    )
    kinds = [f["k"] for f in tx["T"]]
    assert kinds == ["start", "user", "call", "usage", "out", "item"]  # duplicate count ignored
    assert fstate["meta"]["cli_version"] == "0.125.0"
    assert tx["T"][-1]["item"]["status"] == "failed"


def read_all(path: str, offset: int) -> tuple[list, int]:
    lines: list = []
    for chunk, end in transcript.read_chunks(path, offset):
        lines, offset = lines + chunk, end
    return lines, offset


def test_read_lines_leaves_a_partial_line(tmp_path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(b'{"a": 1}\n{"b": 2}\n{"c":')
    lines, offset = read_all(str(path), 0)
    assert lines == [{"a": 1}, {"b": 2}] and offset == 18
    with open(path, "ab") as fh:
        fh.write(b" 3}\n")
    lines, offset = read_all(str(path), offset)
    assert lines == [{"c": 3}] and offset == path.stat().st_size
    assert read_all(str(tmp_path / "missing"), 0) == ([], 0)
