"""End to end with the real Gemini CLI, set up only by `staso setup`, on each release in
GEMINI_VERSIONS (0.60.0, the one before the current, and 0.61.0, the current latest;
docs/compatibility.md lists them).

gemini (offline, against tests/mock_gemini.py) -> `staso hook gemini` -> journal -> worker
-> the OTLP receiver this test started. Token counts are checked against what the mock
answered, exit codes and diffs against what the commands did, the user's settings.json
against its bytes before setup.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from e2e_gemini import GEMINI_VERSIONS, GeminiSandbox, gemini_binary
from e2e_sandbox import received_tree
from mock_gemini import MockGemini
from pipeline_helpers import journal_bytes, run_staso

pytestmark = pytest.mark.e2e


@pytest.fixture(params=GEMINI_VERSIONS)
def sandbox(tmp_path: Path, request: pytest.FixtureRequest):
    gemini_binary(request.param)
    root = tmp_path / "gemini-e2e"
    mock = MockGemini(str(root / "workspace")).start()
    yield GeminiSandbox(root, mock.base_url, request.param), mock
    mock.stop()


def test_gemini_set_up_by_staso_traces_turns_model_calls_and_tools(sandbox, receiver):
    box, mock = sandbox
    staso_home = Path(os.environ["STASO_HOME"])
    env = box.traced_env(receiver.endpoint)
    users_settings = box.settings_file.read_bytes()
    setup = run_staso("setup", "--target", "gemini", "--endpoint", receiver.endpoint, env=env)
    assert setup.returncode == 0, setup.stdout + setup.stderr
    status = run_staso("status", "--target", "gemini", "--json", env=env)
    assert '"events_missing": []' in status.stdout, status.stdout + status.stderr

    first = box.run("-p", "SCENARIO:work go", env=env)
    session = first["session_id"]
    second = box.run("--resume", "latest", "-p", "SCENARIO:more show the notes", env=env)
    assert second["session_id"] == session
    flushed = run_staso("flush", env=env)
    assert flushed.returncode == 0, flushed.stdout + flushed.stderr

    spans = receiver.spans
    by_id = received_tree(spans, (session,))
    roots = sorted((s for s in spans if s["parent_span_id"] is None), key=lambda s: s["start_ns"])
    assert [r["name"] for r in roots] == ["invoke_agent gemini-cli"] * 2
    assert [r["attributes"]["input.value"] for r in roots] == [
        "SCENARIO:work go",
        "SCENARIO:more show the notes",
    ]
    assert [r["attributes"]["gemini.turn_number"] for r in roots] == [1, 2]
    assert {r["attributes"]["staso.turn.outcome"] for r in roots} == {"completed"}
    assert roots[1]["attributes"]["output.value"] == "notes.txt has two lines."

    # every scripted model response is one chat span, with exactly the mock's tokens
    chats = sorted(
        (s for s in spans if s["attributes"].get("gen_ai.operation.name") == "chat"),
        key=lambda s: s["end_ns"],
    )
    assert len(chats) == len(mock.answers) == 7
    for chat, answer in zip(chats, mock.answers, strict=True):
        a, u = chat["attributes"], answer["usage"]
        assert a["gen_ai.usage.input_tokens"] == u["promptTokenCount"]
        assert (
            a["gen_ai.usage.output_tokens"] == u["candidatesTokenCount"] + u["thoughtsTokenCount"]
        )
        assert a["gen_ai.usage.cache_read.input_tokens"] == u["cachedContentTokenCount"]
        assert a["gen_ai.usage.reasoning.output_tokens"] == u["thoughtsTokenCount"]
        assert a["llm.token_count.total"] == u["totalTokenCount"]
        assert a["gen_ai.provider.name"] == "gcp.gemini"
        assert a["gen_ai.response.model"] == answer["model"]
    assert sum(r["attributes"]["staso.usage.output_tokens"] for r in roots) == sum(
        a["usage"]["candidatesTokenCount"] + a["usage"]["thoughtsTokenCount"] for a in mock.answers
    )

    # every tool call once: shell with its exit code, file edits as diffs
    tools = [s for s in spans if s["attributes"].get("gen_ai.operation.name") == "execute_tool"]
    assert sorted(s["name"] for s in tools) == sorted(
        f"execute_tool {n}"
        for n in ("run_shell_command", "write_file", "replace", "read_file", "run_shell_command")
    )
    shells = {
        s["attributes"]["staso.shell.command"]: s
        for s in tools
        if "staso.shell.command" in s["attributes"]
    }
    failed = shells["echo oops >&2; exit 3"]
    assert failed["attributes"]["staso.shell.exit_code"] == 3 and failed["status"] == "ERROR"
    ok = shells["cat notes.txt"]
    assert ok["attributes"]["staso.shell.exit_code"] == 0 and ok["status"] != "ERROR"
    assert by_id[ok["parent_span_id"]] is roots[1]
    (edit,) = [s for s in tools if s["name"] == "execute_tool replace"]
    assert "+second line\n" in edit["attributes"]["staso.file.diff"]
    assert edit["attributes"]["staso.file.lines_added"] == 1
    (write,) = [s for s in tools if s["name"] == "execute_tool write_file"]
    assert "+first line\n" in write["attributes"]["staso.file.diff"]
    assert (box.workspace / "notes.txt").read_text() == "first line\nsecond line\n"

    # uninstall: the user's settings.json is byte for byte what it was; gemini runs on,
    # untraced
    gone = run_staso("uninstall", "--target", "gemini", env=env)
    assert gone.returncode == 0, gone.stdout + gone.stderr
    assert box.settings_file.read_bytes() == users_settings
    before = journal_bytes(staso_home, "gemini")
    box.run("-p", "SCENARIO:hello", env=env)
    assert journal_bytes(staso_home, "gemini") == before
