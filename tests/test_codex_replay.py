"""Replay every recorded Codex run through the real hook record path and the Codex target:
trees, nesting, ids, determinism across worker timing, and the content gate."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest
from replay import FIXTURES_CODEX, fixtures, replay

from staso_otel import semconv as sc
from staso_otel.span import ids
from staso_otel.span.build import CONTENT_KEYS
from staso_otel.span.model import SpanData

ALL = [p.name for p in fixtures()]

# name tree per trace, children ordered by start time; "!" marks status ERROR
EXPECTED_TREES = {
    "hello": ["invoke_agent codex", "  chat gpt-6.1-sol"],
    "tour_resume": [
        "invoke_agent codex",
        "  chat gpt-6.1-sol",
        "  execute_tool exec_command",
        "  chat gpt-6.1-sol",
        "  execute_tool update_plan !",
        "  chat gpt-6.1-sol",
        "  execute_tool apply_patch",
        "  chat gpt-6.1-sol",
        "  execute_tool apply_patch",
        "  chat gpt-6.1-sol",
        "  execute_tool exec_command !",
        "  chat gpt-6.1-sol",
        "invoke_agent codex",
        "  chat gpt-6.1-sol",
        "  execute_tool exec_command",
        "  chat gpt-6.1-sol",
    ],
    "parallel": [
        "invoke_agent codex",
        "  chat gpt-6.1-sol",
        "  execute_tool exec_command",
        "  execute_tool exec_command",
        "  chat gpt-6.1-sol",
    ],
    "misc": [
        "invoke_agent codex",
        "  chat gpt-6.1-sol",
        "  execute_tool exec_command",
        "  chat gpt-6.1-sol",
        "  execute_tool write_stdin",
        "  chat gpt-6.1-sol",
    ],
    "mcp": [
        "invoke_agent codex",
        "  chat mock-model-1",
        "  execute_tool web_search",
        "  execute_tool mcp__demo__echo",
        "  chat mock-model-1",
        "  execute_tool mcp__demo__add",
        "  chat mock-model-1",
        "  execute_tool view_image",
        "  chat mock-model-1",
    ],
    "codemode": [
        "invoke_agent codex",
        "  chat gpt-6.1-sol",
        "  execute_tool exec",
        "    execute_tool exec_command",
        "    execute_tool apply_patch",
        "  chat gpt-6.1-sol",
    ],
    "spawn_v1": [
        "invoke_agent codex",
        "  chat mock-model-1",
        "  execute_tool spawn_agent",
        "    invoke_agent default",
        "      chat mock-model-1",
        "      execute_tool exec_command",
        "      chat mock-model-1",
        "  chat mock-model-1",
        "  execute_tool wait_agent",
        "  chat mock-model-1",
    ],
    "spawn_v2-0.171.0": [
        "invoke_agent codex",
        "  chat gpt-6.2-sol",
        "  execute_tool spawn_agent",
        "    invoke_agent default",
        "      chat gpt-6.2-sol",
        "      execute_tool exec_command",
        "      chat gpt-6.2-sol",
        "  chat gpt-6.2-sol",
        "  execute_tool wait_agent",
        "  chat gpt-6.2-sol",
    ],
    "model_error": ["invoke_agent codex !", "  chat gpt-6.1-sol !"],
    "interrupt": [
        "invoke_agent codex !",
        "  chat gpt-6.1-sol",
        "  execute_tool exec_command !",
    ],
    "compact": [
        "invoke_agent codex",
        "  chat gpt-6.1-sol",
        "  execute_tool exec_command",
        "  chat gpt-6.1-sol",
        "  chat gpt-6.1-sol",
    ],
    "stop_block": [
        "invoke_agent codex",
        "  chat gpt-6.1-sol",
        "  execute_tool exec_command",
        "  chat gpt-6.1-sol",
        "  chat gpt-6.1-sol",
    ],
    "compact-0.171.0": [
        "invoke_agent codex",
        "  chat gpt-6.2-sol",
        "  execute_tool exec_command",
        "  chat gpt-6.2-sol",
        "  chat gpt-6.2-sol",
        "  execute_tool exec_command",
        "  chat gpt-6.2-sol",
    ],
    "refuse-0.171.0": [
        "invoke_agent codex",
        "  chat gpt-6.2-sol",
        "  execute_tool apply_patch !",
        "  chat gpt-6.2-sol",
        "  execute_tool no_such_custom_tool !",
        "  chat gpt-6.2-sol",
        "  execute_tool no_such_tool !",
        "  chat gpt-6.2-sol",
        "  execute_tool exec_command !",
        "  chat gpt-6.2-sol",
    ],
    "badpatch-0.171.0": [
        "invoke_agent codex",
        "  chat gpt-6.2-sol",
        "  execute_tool apply_patch !",
        "  chat gpt-6.2-sol",
    ],
    "reject-0.171.0": [
        "invoke_agent codex",
        "  chat gpt-6.2-sol",
        "  execute_tool exec_command !",
        "  chat gpt-6.2-sol",
    ],
    "refuse_patch-0.169.0": [
        "invoke_agent codex",
        "  chat mock-model-1",
        "  execute_tool apply_patch !",
        "  chat mock-model-1",
    ],
    "escalate_review": [
        "invoke_agent codex",
        "  chat gpt-6.1-sol",
        "  execute_tool exec_command",
        "  chat gpt-6.1-sol",
    ],
    "ephemeral": [
        "invoke_agent codex",
        "  chat gpt-6.1-sol",
        "  execute_tool exec_command",
        "  chat gpt-6.1-sol",
    ],
    "legacy-0.125.0": [
        "invoke_agent codex",
        "  chat gpt-5.5",
        "  execute_tool exec_command",
        "  chat gpt-5.5",
        "  execute_tool update_plan",
        "  chat gpt-5.5",
        "  execute_tool apply_patch",
        "  chat gpt-5.5",
        "  execute_tool apply_patch",
        "  chat gpt-5.5",
        "  execute_tool exec_command !",
        "  chat gpt-5.5",
        "invoke_agent codex",
        "  chat gpt-5.5",
        "  execute_tool exec_command",
        "  chat gpt-5.5",
    ],
    "legacy-0.130.0": [
        "invoke_agent codex",
        "  chat gpt-5.5",
        "  execute_tool exec_command",
        "  chat gpt-5.5",
    ],
}


def tree(spans: list[SpanData]) -> list[str]:
    children: dict[int | None, list[SpanData]] = defaultdict(list)
    for span in spans:
        children[span.parent_span_id].append(span)
    lines: list[str] = []

    def walk(span: SpanData, depth: int) -> None:
        mark = " !" if span.status == sc.STATUS_ERROR else ""
        lines.append("  " * depth + span.name + mark)
        for child in sorted(children[span.span_id], key=lambda s: (s.start_ns, s.name)):
            walk(child, depth + 1)

    for root in sorted(children[None], key=lambda s: s.start_ns):
        walk(root, 0)
    return lines


def by_tool(spans: list[SpanData], call_id: str) -> SpanData:
    (span,) = [s for s in spans if s.attributes.get(sc.GEN_AI_TOOL_CALL_ID) == call_id]
    return span


def roots(spans: list[SpanData]) -> list[SpanData]:
    return sorted((s for s in spans if s.parent_span_id is None), key=lambda s: s.start_ns)


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Replay a fixture into its own STASO_HOME and CODEX_HOME (one journal per replay)."""
    counter = iter(range(1000))

    def _run(name: str, **kwargs):
        n = next(counter)
        monkeypatch.setenv("STASO_HOME", str(tmp_path / f"staso-{n}"))
        return replay(FIXTURES_CODEX / name, tmp_path / f"codex-{n}", **kwargs)

    return _run


def test_every_fixture_has_an_expected_tree() -> None:
    assert sorted(EXPECTED_TREES) == sorted(ALL)


@pytest.mark.parametrize("worker", ["end", "prompt"])
@pytest.mark.parametrize("name", ALL)
def test_tree_and_invariants(run, name: str, worker: str) -> None:
    result = run(name, worker=worker)
    spans = result.spans
    assert tree(spans) == EXPECTED_TREES[name]
    span_ids = [s.span_id for s in spans]
    assert len(span_ids) == len(set(span_ids)), "a span emitted twice"
    emitted = {(s.trace_id, s.span_id) for s in spans}
    for span in spans:
        if span.parent_span_id is not None:  # orphan-free: every parent is emitted too
            assert (span.trace_id, span.parent_span_id) in emitted, span.name
        assert span.attributes[sc.SESSION_ID] == result.session_id
        assert span.attributes[sc.GEN_AI_CONVERSATION_ID] == result.session_id
        assert span.end_ns >= span.start_ns > 0
        assert span.target == "codex"
        kind = sc.KIND_CLIENT if span.name.startswith("chat ") else sc.KIND_INTERNAL
        assert span.kind == kind
        for value in span.attributes.values():
            assert value is not None and value != "" and value != ()
    for root in roots(spans):
        if root.attributes.get(sc.CODEX_TURN_SEGMENT) is None:
            turn_id = root.attributes[sc.CODEX_TURN_ID]
            assert root.trace_id == ids.trace_id("codex", result.session_id, turn_id)
    # nothing of a finished session is left open, and the state stays small
    assert result.state["turns"] == {}
    assert len(json.dumps(result.state)) < 8192


@pytest.mark.parametrize("name", ALL)
def test_same_spans_whatever_the_worker_timing(run, name: str) -> None:
    late = {s.span_id: s.to_dict() for s in run(name, worker="end").spans}
    prompt = {s.span_id: s.to_dict() for s in run(name, worker="prompt").spans}
    assert late == prompt


@pytest.mark.parametrize("name", ALL)
def test_content_off_leaves_only_metadata(run, name: str) -> None:
    spans = run(name, capture_content=False).spans
    assert tree(spans) == EXPECTED_TREES[name]
    for span in spans:
        leaked = CONTENT_KEYS & set(span.attributes)
        assert not leaked, (span.name, leaked)
        assert sc.GEN_AI_OPERATION_NAME in span.attributes
        if span.status == sc.STATUS_ERROR:  # no quoted output in the status either
            assert span.status_description == span.attributes[sc.ERROR_TYPE]


def test_content_off_keeps_facts(run) -> None:
    spans = run("tour_resume", capture_content=False).spans
    failing = by_tool(spans, "call_0015")
    assert failing.attributes[sc.STASO_SHELL_EXIT_CODE] == 3
    assert sc.STASO_SHELL_COMMAND not in failing.attributes
    patch = by_tool(spans, "call_0012")
    assert patch.attributes[sc.STASO_FILE_LINES_ADDED] == 1
    assert sc.STASO_FILE_DIFF not in patch.attributes


def test_turn_root_carries_prompt_model_response_and_number(run) -> None:
    first, second = roots(run("tour_resume").spans)
    a = first.attributes
    assert first.name == "invoke_agent codex"
    assert a[sc.INPUT_VALUE] == "SCENARIO:tour run echo, plan, patch"
    assert a[sc.OUTPUT_VALUE] == "All done: ran echo, updated plan, wrote hello.txt."
    assert a[sc.GEN_AI_REQUEST_MODEL] == "gpt-6.1-sol"
    assert a[sc.GEN_AI_AGENT_NAME] == "codex"
    assert a[sc.GEN_AI_PROVIDER_NAME] == "openai"
    assert a[sc.OPENINFERENCE_SPAN_KIND] == "AGENT"
    assert a[sc.STASO_TURN_OUTCOME] == sc.TURN_COMPLETED
    assert a[sc.CODEX_TURN_NUMBER] == 1
    # `codex exec resume` is a new process: the turn number survives in the session state
    assert second.attributes[sc.CODEX_TURN_NUMBER] == 2
    assert second.attributes[sc.INPUT_VALUE] == "SCENARIO:turn2 list the files"
    assert first.trace_id != second.trace_id


def test_chat_spans_time_and_tokens_from_model_hooks(run) -> None:
    spans = run("tour_resume").spans
    chats = sorted((s for s in spans if s.name.startswith("chat ")), key=lambda s: s.start_ns)
    first = chats[0]
    a = first.attributes
    assert a[sc.GEN_AI_USAGE_INPUT_TOKENS] == 1000
    assert a[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 50
    assert a[sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] == 16
    assert a[sc.LLM_TOKEN_COUNT_TOTAL] == 1050
    assert a[sc.GEN_AI_RESPONSE_ID] == "resp_0004"
    assert a[sc.OPENINFERENCE_SPAN_KIND] == "LLM"
    assert chats[1].attributes[sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 256
    # PreModelRequest -> PostModelRequest receipt times of the fixture
    assert first.start_ns == round(1795471221.2929723 * 1e9)
    assert first.end_ns == round(1795471221.4269907 * 1e9)
    # response content: the function call that response asked for
    assert "exec_command" in a[sc.OUTPUT_VALUE] and "call_0003" in a[sc.OUTPUT_VALUE]
    last = chats[5].attributes
    assert last[sc.OUTPUT_VALUE] == "All done: ran echo, updated plan, wrote hello.txt."


def test_tool_span_timing_and_shell_facts(run) -> None:
    spans = run("tour_resume").spans
    echo = by_tool(spans, "call_0003")
    assert echo.start_ns == round(1795471221.5120382 * 1e9)
    assert echo.end_ns == round(1795471221.655782 * 1e9)
    a = echo.attributes
    assert a[sc.STASO_TOOL_CATEGORY] == sc.CATEGORY_SHELL
    assert a[sc.STASO_TOOL_HOOK_NAME] == "Bash"
    assert a[sc.STASO_SHELL_COMMAND] == "echo hi"
    assert a[sc.STASO_SHELL_STDOUT] == "hi\n"
    assert a[sc.STASO_SHELL_EXIT_CODE] == 0
    assert a[sc.STASO_SHELL_CWD] == "/home/dev/project"
    assert isinstance(a[sc.STASO_SHELL_WALL_TIME_S], float)
    assert json.loads(a[sc.GEN_AI_TOOL_CALL_ARGUMENTS])["cmd"] == "echo hi"
    assert echo.status != sc.STATUS_ERROR
    failing = by_tool(spans, "call_0015")
    assert failing.attributes[sc.STASO_SHELL_EXIT_CODE] == 3
    assert failing.status == sc.STATUS_ERROR
    assert failing.attributes[sc.ERROR_TYPE] == "exit_code"


@pytest.mark.parametrize("name", ["tour_resume", "legacy-0.125.0"])
def test_apply_patch_diffs_with_counts(run, name: str) -> None:
    spans = run(name).spans
    add = by_tool(spans, "call_0009").attributes
    assert add[sc.STASO_TOOL_CATEGORY] == sc.CATEGORY_FILE
    assert add[sc.STASO_FILE_LINES_ADDED] == 1 and add[sc.STASO_FILE_LINES_REMOVED] == 0
    assert "+hello from apply_patch" in add[sc.STASO_FILE_DIFF]
    assert "+++ b/hello.txt\n" in add[sc.STASO_FILE_DIFF]  # relative to the session cwd
    assert add[sc.STASO_FILE_PATHS][0].endswith("hello.txt")
    update = by_tool(spans, "call_0012").attributes
    assert update[sc.STASO_FILE_LINES_ADDED] == 1 and update[sc.STASO_FILE_LINES_REMOVED] == 1
    assert "-hello from apply_patch\n+hello again from apply_patch" in update[sc.STASO_FILE_DIFF]
    (change,) = json.loads(update[sc.STASO_FILE_CHANGES])
    assert change["kind"] == "update" and change["added"] == 1 and change["removed"] == 1


def test_hookless_calls_become_transcript_spans(run) -> None:
    plan = by_tool(run("tour_resume").spans, "call_0006")
    assert plan.attributes[sc.STASO_TOOL_SOURCE] == "transcript"
    assert plan.attributes[sc.ERROR_TYPE] == "unsupported_call"
    legacy_plan = by_tool(run("legacy-0.125.0").spans, "call_0006").attributes
    steps = json.loads(legacy_plan[sc.STASO_PLAN_STEPS])
    assert steps[1] == {"step": "write file", "status": "in_progress"}
    assert legacy_plan[sc.STASO_TOOL_CATEGORY] == sc.CATEGORY_PLANNING


def test_write_stdin_and_long_running_command(run) -> None:
    spans = run("misc").spans
    command = by_tool(spans, "call_0002").attributes
    assert command[sc.STASO_SHELL_STDOUT] == "slept\n"
    assert command[sc.STASO_SHELL_EXIT_CODE] == 0
    poll = by_tool(spans, "call_0005")
    assert poll.name == "execute_tool write_stdin"
    assert poll.attributes[sc.STASO_TOOL_SOURCE] == "transcript"
    assert poll.attributes[sc.STASO_SHELL_PTY_SESSION_ID] == "84821"
    assert poll.attributes[sc.STASO_SHELL_EXIT_CODE] == 0
    # the command ran until it exited during the poll
    assert by_tool(spans, "call_0002").end_ns > poll.start_ns


def test_mcp_web_search_and_view_image(run) -> None:
    spans = run("mcp").spans
    echo = by_tool(spans, "call_0003").attributes
    assert echo[sc.STASO_TOOL_CATEGORY] == sc.CATEGORY_MCP
    assert echo[sc.STASO_MCP_SERVER] == "demo" and echo[sc.STASO_MCP_TOOL] == "echo"
    assert echo[sc.STASO_MCP_IS_ERROR] is False
    assert echo[sc.GEN_AI_TOOL_TYPE] == sc.TOOL_TYPE_EXTENSION
    search = by_tool(spans, "ws_0001").attributes
    assert search[sc.STASO_TOOL_SOURCE] == "transcript"
    assert search[sc.STASO_SEARCH_QUERY] == "codex hooks"
    image = by_tool(spans, "call_0009").attributes
    assert image[sc.STASO_IMAGE_PATH] == "/home/dev/project/img.png"


def test_code_mode_nested_calls_under_their_exec_cell(run) -> None:
    spans = run("codemode").spans
    cell = by_tool(spans, "call_0002")
    assert cell.attributes[sc.STASO_TOOL_CATEGORY] == sc.CATEGORY_CODE
    assert "tools.exec_command" in cell.attributes[sc.STASO_CODE_SOURCE]
    nested = [s for s in spans if s.parent_span_id == cell.span_id]
    assert len(nested) == 2
    for span in nested:
        assert span.attributes[sc.GEN_AI_TOOL_CALL_ID].startswith("exec-")
        assert span.attributes[sc.STASO_TOOL_PARENT_CALL_ID] == "call_0002"
    shell = next(s for s in nested if s.name == "execute_tool exec_command")
    assert shell.attributes[sc.STASO_SHELL_EXIT_CODE] == 0


def test_subagent_nested_under_its_spawn_call(run) -> None:
    spans = run("spawn_v1").spans
    spawn = by_tool(spans, "call_0002")
    (sub,) = [s for s in spans if s.name == "invoke_agent default"]
    assert sub.parent_span_id == spawn.span_id and sub.trace_id == spawn.trace_id
    assert sub.attributes[sc.GEN_AI_AGENT_ID] == "01a20a6d-62b4-79c3-aae2-e837ae91bec4"
    assert sub.attributes[sc.INPUT_VALUE] == "SCENARIO:sub run echo in the sub-agent"
    assert sub.attributes[sc.OUTPUT_VALUE] == "sub-agent final answer"
    inner = by_tool(spans, "call_0008")
    assert inner.parent_span_id == sub.span_id
    assert inner.attributes[sc.STASO_SHELL_STDOUT] == "from-subagent\n"
    assert len({s.trace_id for s in spans}) == 1
    wait = by_tool(spans, "call_0005").attributes
    assert json.loads(wait[sc.STASO_AGENT_WAIT_STATUS]) == {
        "01a20a6d-62b4-79c3-aae2-e837ae91bec4": "completed"
    }


def test_interrupted_turn(run) -> None:
    spans = run("interrupt").spans
    (root,) = roots(spans)
    assert root.attributes[sc.STASO_TURN_OUTCOME] == sc.TURN_INTERRUPTED
    assert root.status == sc.STATUS_ERROR
    command = by_tool(spans, "call_0002")
    assert command.attributes[sc.ERROR_TYPE] == "interrupted"
    # no PostToolUse: it ends when the rollout says it was aborted, within the turn
    assert command.start_ns < command.end_ns <= root.end_ns
    assert "aborted by user" in command.attributes[sc.OUTPUT_VALUE]


def test_failed_model_request(run) -> None:
    spans = run("model_error").spans
    (root,) = roots(spans)
    assert root.attributes[sc.STASO_TURN_OUTCOME] == sc.TURN_FAILED
    assert root.attributes[sc.STASO_TURN_END_REASON] == "session_end"
    assert root.status == sc.STATUS_ERROR
    (chat,) = [s for s in spans if s.name.startswith("chat ")]
    assert chat.status == sc.STATUS_ERROR
    assert "high demand" in (chat.status_description or "")
    assert sc.GEN_AI_USAGE_INPUT_TOKENS not in chat.attributes


def test_stop_hook_continuation_is_the_same_turn(run) -> None:
    """A Stop hook that blocks continues the turn: one trace, one turn number, and the
    root's tokens cover the request before the block and the one after it."""
    spans = run("stop_block").spans
    (root,) = roots(spans)
    assert root.attributes[sc.CODEX_TURN_ID] == "01a20a6d-8ab5-7201-95cf-50ba559be699"
    assert root.attributes[sc.CODEX_TURN_NUMBER] == 1
    assert root.attributes[sc.STASO_TURN_OUTCOME] == sc.TURN_COMPLETED
    assert root.attributes[sc.CODEX_STOP_HOOK_ACTIVE] is True
    assert sc.CODEX_TURN_SEGMENT not in root.attributes
    assert root.attributes[sc.OUTPUT_VALUE] == "Hello! (mock final answer)"
    chats = [s for s in spans if s.name.startswith("chat ")]
    assert len(chats) == 3
    tokens = sum(c.attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] for c in chats)
    assert root.attributes[sc.STASO_USAGE_INPUT_TOKENS] == tokens == 3100
    assert root.end_ns >= max(s.end_ns for s in spans)


def test_compaction_request_is_a_chat_span(run) -> None:
    spans = run("compact").spans
    (root,) = roots(spans)
    assert root.attributes[sc.STASO_COMPACTIONS] == 1
    kinds = [s.attributes[sc.CODEX_REQUEST_KIND] for s in spans if s.name.startswith("chat ")]
    assert sorted(kinds) == ["compaction", "turn", "turn"]
    assert root.attributes[sc.STASO_USAGE_TOTAL_TOKENS] == 202150


def test_permission_request_marks_the_tool(run) -> None:
    command = by_tool(run("escalate_review").spans, "call_0002")
    assert command.attributes[sc.STASO_TOOL_PERMISSION_REQUESTED] is True


def test_ephemeral_session_from_hooks_alone(run) -> None:
    spans = run("ephemeral").spans
    (root,) = roots(spans)
    assert root.attributes[sc.INPUT_VALUE] == "SCENARIO:exec run echo"
    assert root.attributes[sc.STASO_USAGE_MODEL_CALLS] == 2
    command = next(s for s in spans if s.name == "execute_tool exec_command")
    assert command.attributes[sc.STASO_SHELL_STDOUT] == "hi\n"


@pytest.mark.parametrize("name", ["legacy-0.125.0", "legacy-0.130.0"])
def test_legacy_model_calls_from_transcript(run, name: str) -> None:
    spans = run(name).spans
    chats = [s for s in spans if s.name.startswith("chat ")]
    assert chats and all(s.attributes[sc.CODEX_USAGE_SOURCE] == "transcript" for s in chats)
    assert all(s.end_ns > s.start_ns for s in chats)


def test_parallel_calls_overlap(run) -> None:
    spans = run("parallel").spans
    one, two = by_tool(spans, "call_0002"), by_tool(spans, "call_0004")
    assert one.start_ns < two.end_ns and two.start_ns < one.end_ns
    assert one.parent_span_id == two.parent_span_id
    (first_chat, _) = sorted(
        (s for s in spans if s.name.startswith("chat ")), key=lambda s: s.start_ns
    )
    (answer,) = json.loads(first_chat.attributes[sc.GEN_AI_OUTPUT_MESSAGES])
    parts = answer["parts"]
    assert [p["id"] for p in parts if p["type"] == "tool_call"] == ["call_0002", "call_0004"]
