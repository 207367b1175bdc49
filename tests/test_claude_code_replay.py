"""Every recorded Claude Code session, replayed through the hook and the target.

The oracle for tokens is the transcript itself, summed here independently of the target
(one usage per distinct message id); the oracle for exit codes and nesting is what the
recording shows happened (echo exits 0, `exit 3` exits 3, the sub-agent ran `echo
from-sub` under the Agent call).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from replay_claude import FIXTURES_CLAUDE, fixtures, replay

from staso_otel import semconv as sc
from staso_otel.span.build import CONTENT_KEYS
from staso_otel.span.model import SpanData

RUNS = [p.name for p in fixtures()]


def by_name(spans: list[SpanData], name: str) -> list[SpanData]:
    return [s for s in spans if s.name == name]


def transcript_usage(fixture: Path) -> Counter:
    """Token totals over every transcript of a run (sub-agents included), one usage per
    message id, as Anthropic bills them (a `<synthetic>` error stand-in was never billed)."""
    seen: dict[str, dict] = {}
    for path in (fixture / "projects").rglob("*.jsonl"):
        for line in path.read_text().splitlines():
            rec = json.loads(line)
            if rec.get("type") == "assistant" and rec["message"]["model"] != "<synthetic>":
                seen[rec["message"]["id"]] = rec["message"]["usage"]
    total: Counter = Counter()
    for usage in seen.values():
        total["input"] += usage["input_tokens"]
        total["cache_read"] += usage["cache_read_input_tokens"]
        total["cache_write"] += usage["cache_creation_input_tokens"]
        total["output"] += usage["output_tokens"]
    total["messages"] = len(seen)
    return total


def span_usage(spans: list[SpanData]) -> Counter:
    total: Counter = Counter()
    for s in spans:
        a = s.attributes
        if a.get(sc.GEN_AI_OPERATION_NAME) != sc.OP_CHAT:
            continue
        read = a[sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS]
        write = a[sc.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS]
        total["input"] += a[sc.GEN_AI_USAGE_INPUT_TOKENS] - read - write
        total["cache_read"] += read
        total["cache_write"] += write
        total["output"] += a[sc.GEN_AI_USAGE_OUTPUT_TOKENS]
        total["messages"] += 1
    return total


@pytest.mark.parametrize("worker", ["end", "prompt"])
@pytest.mark.parametrize("run", RUNS)
def test_every_run_makes_whole_trees(run: str, worker: str, tmp_path: Path):
    r = replay(FIXTURES_CLAUDE / run, tmp_path / "home", worker=worker)
    assert r.spans, run
    ids = [(s.trace_id, s.span_id) for s in r.spans]
    assert len(ids) == len(set(ids)), "a span was emitted twice"
    known = {s.span_id for s in r.spans}
    for s in r.spans:
        assert s.parent_span_id is None or s.parent_span_id in known, f"orphan {s.name}"
        assert s.end_ns >= s.start_ns
        assert s.attributes[sc.SESSION_ID] in r.states  # a fork is a session of its own
        assert s.attributes[sc.STASO_TARGET] == "claude-code"
    roots = [s for s in r.spans if s.parent_span_id is None]
    assert all(s.name == "invoke_agent claude-code" for s in roots)
    assert len({s.trace_id for s in roots}) == len(roots), "one root per trace"
    prompts = [
        json.loads(line)["payload"]
        for line in (FIXTURES_CLAUDE / run / "hooks.jsonl").read_text().splitlines()
    ]
    turns = {p["prompt_id"] for p in prompts if p["hook_event_name"] == "UserPromptSubmit"}
    assert {s.attributes[sc.CLAUDE_CODE_PROMPT_ID] for s in roots} == turns
    for state in r.states.values():
        assert not state["turns"], "a turn was left open after SessionEnd"


@pytest.mark.parametrize("run", RUNS)
def test_token_sums_equal_the_transcripts_deduplicated(run: str, tmp_path: Path):
    r = replay(FIXTURES_CLAUDE / run, tmp_path / "home")
    assert span_usage(r.spans) == transcript_usage(FIXTURES_CLAUDE / run)
    for root in [s for s in r.spans if s.attributes.get(sc.OPENINFERENCE_SPAN_KIND) == "AGENT"]:
        chats = [
            s
            for s in r.spans
            if s.parent_span_id == root.span_id and s.attributes[sc.GEN_AI_OPERATION_NAME] == "chat"
        ]
        assert root.attributes[sc.STASO_USAGE_MODEL_CALLS] == len(chats)
        assert root.attributes[sc.STASO_USAGE_TOTAL_TOKENS] == sum(
            c.attributes[sc.LLM_TOKEN_COUNT_TOTAL] for c in chats
        )


def test_both_worker_paces_give_the_same_spans(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    for run in RUNS:
        monkeypatch.setenv("STASO_HOME", str(tmp_path / run / "staso-a"))
        late = replay(FIXTURES_CLAUDE / run, tmp_path / run / "a")
        monkeypatch.setenv("STASO_HOME", str(tmp_path / run / "staso-b"))
        live = replay(FIXTURES_CLAUDE / run, tmp_path / run / "b", worker="prompt")

        def key(spans: list[SpanData]) -> list[tuple]:
            return sorted(
                (s.trace_id, s.span_id, s.name, s.start_ns, s.end_ns, s.status) for s in spans
            )

        assert key(late.spans) == key(live.spans), run


def test_tour_shell_exit_codes_diffs_and_resume(tmp_path: Path):
    r = replay(FIXTURES_CLAUDE / "tour_resume", tmp_path / "home")
    roots = sorted((s for s in r.spans if s.parent_span_id is None), key=lambda s: s.start_ns)
    assert [s.attributes[sc.CLAUDE_CODE_TURN_NUMBER] for s in roots] == [1, 2, 3]
    assert [s.attributes[sc.INPUT_VALUE] for s in roots] == [
        "SCENARIO:tour run echo, write and edit a file, fail a command",
        "SCENARIO:second show the file",
        "SCENARIO:third continue",
    ]
    assert roots[0].attributes[sc.OUTPUT_VALUE].startswith("All done")
    assert {s.attributes[sc.STASO_TURN_OUTCOME] for s in roots} == {"completed"}
    assert [s.attributes.get(sc.CLAUDE_CODE_SESSION_SOURCE) for s in roots] == [
        "startup",
        "resume",
        "resume",
    ]
    shells = {
        s.attributes[sc.STASO_SHELL_COMMAND]: s for s in by_name(r.spans, "execute_tool Bash")
    }
    ok, bad = shells["echo hi"], shells["echo oops >&2; exit 3"]
    assert ok.attributes[sc.STASO_SHELL_EXIT_CODE] == 0
    assert ok.attributes[sc.STASO_SHELL_STDOUT] == "hi"
    assert ok.attributes[sc.STASO_TOOL_CATEGORY] == "shell"
    assert ok.status == sc.STATUS_UNSET
    assert bad.attributes[sc.STASO_SHELL_EXIT_CODE] == 3
    assert bad.attributes[sc.STASO_SHELL_STDERR] == "oops"
    assert bad.status == sc.STATUS_ERROR and bad.attributes[sc.ERROR_TYPE] == "exit_code"
    assert shells["cat hello.txt"].attributes[sc.STASO_SHELL_STDOUT] == "hello world"
    assert shells["cat hello.txt"].trace_id != ok.trace_id  # the resumed turn's own trace

    (write,) = by_name(r.spans, "execute_tool Write")
    assert write.attributes[sc.STASO_FILE_DIFF] == (
        "--- /dev/null\n+++ b/hello.txt\n@@ -0,0 +1,1 @@\n+hello\n"
    )
    (edit,) = by_name(r.spans, "execute_tool Edit")
    diff = edit.attributes[sc.STASO_FILE_DIFF]
    assert "--- a/hello.txt\n+++ b/hello.txt\n" in diff
    assert "\n-hello\n+hello world\n" in diff
    assert (
        edit.attributes[sc.STASO_FILE_LINES_ADDED],
        edit.attributes[sc.STASO_FILE_LINES_REMOVED],
    ) == (1, 1)
    assert edit.attributes[sc.STASO_TOOL_CATEGORY] == "file"
    # tool spans are timed by hooks: inside their turn, between the model calls around them
    first = [s for s in r.spans if s.trace_id == roots[0].trace_id]
    for s in first:
        assert roots[0].start_ns <= s.start_ns <= s.end_ns <= roots[0].end_ns


def test_background_sub_agent_nests_under_its_agent_call_after_the_parent_stopped(
    tmp_path: Path,
):
    r = replay(FIXTURES_CLAUDE / "agent", tmp_path / "home", worker="prompt")
    (call,) = by_name(r.spans, "execute_tool Agent")
    (sub,) = by_name(r.spans, "invoke_agent general-purpose")
    parent_root = next(s for s in r.spans if s.span_id == call.parent_span_id)
    assert parent_root.name == "invoke_agent claude-code"
    assert sub.parent_span_id == call.span_id and sub.trace_id == call.trace_id
    assert sub.attributes[sc.GEN_AI_AGENT_ID] == "a791b9db97da6a545"
    assert sub.attributes[sc.STASO_AGENT_TYPE] == "general-purpose"
    assert sub.attributes[sc.OUTPUT_VALUE] == "sub-agent final answer"
    assert sub.attributes[sc.INPUT_VALUE] == "SUBAGENT:sub please run echo from-sub"
    assert call.attributes[sc.STASO_AGENT_IDS] == ("a791b9db97da6a545",)
    assert call.attributes[sc.STASO_TOOL_CATEGORY] == "multi_agent"
    (sub_bash,) = by_name(r.spans, "execute_tool Bash")
    assert sub_bash.parent_span_id == sub.span_id
    assert sub_bash.attributes[sc.STASO_SHELL_STDOUT] == "from-sub"
    sub_chats = [
        s for s in r.spans if s.parent_span_id == sub.span_id and s.name.startswith("chat")
    ]
    assert len(sub_chats) == 2
    # the parent's trace went out at its Stop, before the sub-agent finished
    order = [s.span_id for s in r.spans]
    assert order.index(parent_root.span_id) < order.index(sub.span_id)
    assert sub.end_ns > parent_root.end_ns
    # the result comes back as a turn of its own
    notification = [s for s in r.spans if s.attributes.get(sc.CLAUDE_CODE_TASK_NOTIFICATION)]
    assert len(notification) == 1 and notification[0].parent_span_id is None


def test_calls_that_never_ran_say_why(tmp_path: Path):
    r = replay(FIXTURES_CLAUDE / "no_skip_perms", tmp_path / "home")
    tools = {
        s.name: s for s in r.spans if s.name.startswith("execute_tool") and s.status == "ERROR"
    }
    write = tools["execute_tool Write"].attributes
    assert write[sc.ERROR_TYPE] == "permission_denied"
    assert write[sc.STASO_TOOL_EXECUTED] is False
    assert write[sc.STASO_TOOL_PERMISSION_REQUESTED] is True
    assert sc.STASO_FILE_LINES_ADDED not in write  # nothing was written
    edit = tools["execute_tool Edit"].attributes
    assert edit[sc.ERROR_TYPE] == "tool_use_error"
    assert "File does not exist" in edit[sc.OUTPUT_VALUE]
    assert edit[sc.STASO_TOOL_SOURCE] == "batch"
    bash = tools["execute_tool Bash"].attributes
    assert bash[sc.ERROR_TYPE] == "permission_denied"
    assert sc.STASO_SHELL_EXIT_CODE not in bash


def test_parallel_calls_overlap(tmp_path: Path):
    r = replay(FIXTURES_CLAUDE / "parallel", tmp_path / "home")
    one, two = sorted(by_name(r.spans, "execute_tool Bash"), key=lambda s: s.start_ns)
    assert one.start_ns < two.start_ns < one.end_ns
    assert {one.attributes[sc.STASO_SHELL_STDOUT], two.attributes[sc.STASO_SHELL_STDOUT]} == {
        "one",
        "two",
    }


def test_content_off_keeps_only_metadata(tmp_path: Path):
    r = replay(FIXTURES_CLAUDE / "tour_resume", tmp_path / "home", capture_content=False)
    for s in r.spans:
        assert not set(s.attributes) & CONTENT_KEYS, s.name
    assert span_usage(r.spans) == transcript_usage(FIXTURES_CLAUDE / "tour_resume")


def test_a_session_cut_off_before_stop_expires_as_unfinished(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    fixture = FIXTURES_CLAUDE / "parallel"
    from replay_claude import load_events

    events = load_events(fixture, tmp_path / "home")
    cut = [e for e in events if e[1]["hook_event_name"] not in ("Stop", "SessionEnd")]
    r = replay(fixture, tmp_path / "home", events=cut)
    assert r.spans == []
    monkeypatch.setenv("STASO_HOME", str(tmp_path / "staso-2"))
    r = replay(fixture, tmp_path / "home2", events=cut, expire=True)
    (root,) = [s for s in r.spans if s.parent_span_id is None]
    assert root.attributes[sc.STASO_TURN_OUTCOME] == "unfinished"
    assert root.status == sc.STATUS_ERROR
    assert len(by_name(r.spans, "execute_tool Bash")) == 2


def test_a_stop_that_outruns_the_transcript_waits_for_the_answer(tmp_path: Path):
    """Claude Code may fire (Subagent)Stop before the quoted answer is written: the
    worker waits for it (bounded) instead of losing that model call."""
    import threading

    from replay_claude import Transcripts

    fixture = FIXTURES_CLAUDE / "agent"
    home = tmp_path / "home"
    files = Transcripts(fixture, home)
    sub_path, sub_lines = next((p, lines) for p, lines in files.files if "subagents" in str(p))
    last = sub_lines[-1][1]
    assert b"sub-agent final answer" in last
    files.write_until(None)
    sub_path.write_bytes(sub_path.read_bytes()[: -len(last)])

    def late_write() -> None:
        with open(sub_path, "ab") as fh:
            fh.write(last)

    timer = threading.Timer(0.3, late_write)
    timer.start()
    try:
        r = replay(fixture, home, events=None, keep_transcripts=True)
    finally:
        timer.join()
    (sub,) = by_name(r.spans, "invoke_agent general-purpose")
    chats = [s for s in r.spans if s.parent_span_id == sub.span_id and s.name.startswith("chat")]
    assert len(chats) == 2
    assert sub.attributes[sc.STASO_USAGE_MODEL_CALLS] == 2
