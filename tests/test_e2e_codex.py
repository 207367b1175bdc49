"""End to end with the real Codex CLI, on the pinned release and the current latest
(e2e_codex.CODEX_VERSIONS): hooks -> journal -> worker -> OTLP receiver."""

from __future__ import annotations

import os
from collections import Counter

import pytest
from e2e_codex import CODEX_VERSIONS, USER_HOOK, CodexSandbox, codex_binary
from mock_responses import MockResponses
from pipeline_helpers import run_staso

pytestmark = pytest.mark.e2e


@pytest.fixture
def mock_model():
    mock = MockResponses().start()
    yield mock
    mock.stop()


@pytest.fixture(params=CODEX_VERSIONS)
def sandbox(request, tmp_path, mock_model) -> CodexSandbox:
    codex_binary(request.param)
    return CodexSandbox(tmp_path / "codex-e2e", mock_model.base_url, version=request.param)


def _flush(env: dict[str, str]) -> str:
    proc = run_staso("flush", env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_a_real_codex_session_arrives_as_traces(sandbox, receiver, mock_model, isolated_homes):
    sandbox.write_hooks()
    env = sandbox.traced_env(receiver.endpoint)
    thread, events = sandbox.exec(
        "SCENARIO:work run things", "--dangerously-bypass-hook-trust", env=env
    )
    assert thread
    _, events2 = sandbox.exec(
        "SCENARIO:more read it back", "--dangerously-bypass-hook-trust", resume=thread, env=env
    )
    _flush(env)

    spans = receiver.spans
    assert max(Counter((s["trace_id"], s["span_id"]) for s in spans).values()) == 1
    turns = sorted(
        (s for s in spans if s["name"] == "invoke_agent codex"), key=lambda s: s["start_ns"]
    )
    assert [t["attributes"]["codex.turn_number"] for t in turns] == [1, 2]
    assert {t["attributes"]["session.id"] for t in turns} == {thread}
    assert turns[0]["attributes"]["input.value"] == "SCENARIO:work run things"
    assert turns[0]["attributes"]["output.value"] == "Done: ran two commands and wrote notes.txt."
    assert len({t["trace_id"] for t in turns}) == 2

    first = [s for s in spans if s["trace_id"] == turns[0]["trace_id"]]
    chats = sorted((s for s in first if s["name"].startswith("chat ")), key=lambda s: s["start_ns"])
    assert [c["attributes"]["gen_ai.usage.input_tokens"] for c in chats] == [1000, 1100, 1200, 1300]
    assert [c["attributes"]["gen_ai.usage.output_tokens"] for c in chats] == [40, 41, 42, 43]
    assert turns[0]["attributes"]["staso.usage.input_tokens"] == 4600
    # the exec stream's own turn usage agrees with what the backend got
    completed = next(e for e in events if e.get("type") == "turn.completed")
    assert completed["usage"]["input_tokens"] == 4600

    shells = sorted(
        (s for s in first if s["attributes"].get("staso.tool.category") == "shell"),
        key=lambda s: s["start_ns"],
    )
    assert [s["attributes"]["staso.shell.exit_code"] for s in shells] == [0, 3]
    assert shells[0]["attributes"]["staso.shell.command"].endswith("echo hi")
    assert shells[1]["status"] == "ERROR"
    [patch] = [s for s in first if s["name"] == "execute_tool apply_patch"]
    assert "+first line" in patch["attributes"]["staso.file.diff"]
    assert patch["attributes"]["staso.file.lines_added"] == 2
    ids = {s["span_id"] for s in spans}
    assert all(s["parent_span_id"] in ids for s in spans if s["parent_span_id"])

    # Our hooks printed nothing: no request carried hook output back to the model.
    for body in mock_model.requests:
        for item in body.get("input") or []:
            text = str(item)
            assert "staso" not in text.lower() or item.get("role") != "developer"
    assert any(e.get("type") == "turn.completed" for e in events2)


def test_setup_alone_makes_codex_trace_and_uninstall_stops_it(sandbox, receiver, isolated_homes):
    """No --dangerously-bypass-hook-trust: the trust staso setup wrote must be enough."""
    from staso_otel import paths

    env = sandbox.traced_env(
        PATH=f"{codex_binary(sandbox.version).parent}{os.pathsep}{os.environ['PATH']}",
    )
    setup = run_staso(
        "setup", "--target", "codex", "--endpoint", receiver.base_url, "--yes", env=env
    )
    assert setup.returncode == 0, setup.stdout + setup.stderr
    status = run_staso("status", "--target", "codex", env=env)
    assert status.returncode == 0, status.stdout

    thread, _ = sandbox.exec("SCENARIO:hello say hi", env=env)
    _flush(env)
    turns = [s for s in receiver.spans if s["name"] == "invoke_agent codex"]
    assert [t["attributes"]["session.id"] for t in turns] == [thread]
    assert turns[0]["attributes"]["output.value"] == "Hello from the mock model."

    uninstall = run_staso("uninstall", "--target", "codex", env=env)
    assert uninstall.returncode == 0, uninstall.stdout + uninstall.stderr
    before = len(receiver.spans)
    sandbox.exec("SCENARIO:hello say hi again", env=env)
    assert not paths.journal_dir().exists() or not any(paths.journal_dir().rglob("*.jsonl"))
    _flush(env)
    assert len(receiver.spans) == before


def _traced(sandbox, receiver, prompt: str, *args: str, also=None, **env: str) -> list[dict]:
    """One `codex exec` with staso's hooks (and a user's own, `also`); the spans sent."""
    sandbox.write_hooks(also=also)
    run_env = sandbox.traced_env(receiver.endpoint, **env)
    sandbox.exec(prompt, "--dangerously-bypass-hook-trust", *args, env=run_env)
    _flush(run_env)
    return receiver.spans


def _tool(spans: list[dict], name: str) -> dict:
    (span,) = [s for s in spans if s["name"] == f"execute_tool {name}"]
    return span


def test_calls_codex_refused_or_a_hook_blocked_never_ran(sandbox, receiver, isolated_homes):
    spans = _traced(
        sandbox,
        receiver,
        "SCENARIO:refuse try things",
        also={"PreToolUse": USER_HOOK},
        HOOK_BLOCK="BLOCKME",
    )
    expected = {
        "no_such_custom_tool": "unsupported_call",
        "no_such_tool": "unsupported_call",
        "exec_command": "blocked",
        "apply_patch": "no_result",  # JSON-wrapped: Codex never answers the call at all
    }
    for name, error_type in expected.items():
        span = _tool(spans, name)
        assert span["status"] == "ERROR", name
        assert span["attributes"]["error.type"] == error_type, name
        assert span["attributes"]["staso.tool.executed"] is False, name
    patch = _tool(spans, "apply_patch")["attributes"]
    assert "staso.file.diff" not in patch and "staso.file.lines_added" not in patch
    assert not (sandbox.workspace / "notes.txt").exists()  # and indeed nothing was written


def test_compaction_requests_are_counted_once(sandbox, receiver, mock_model, isolated_homes):
    (sandbox.codex_home / "config.toml").write_text(
        "model_auto_compact_token_limit = 50000\n"
        + (sandbox.codex_home / "config.toml").read_text()
    )
    spans = _traced(sandbox, receiver, "SCENARIO:compact fill the context")
    assert "compaction" in mock_model.kinds
    chats = [s for s in spans if s["name"].startswith("chat ")]
    assert len(chats) == len(mock_model.kinds)  # one chat span per request Codex made
    kinds = sorted(c["attributes"]["codex.request_kind"] for c in chats)
    assert kinds == sorted(mock_model.kinds)
    (root,) = [s for s in spans if s["parent_span_id"] is None]
    sent = sum(u["input_tokens"] for u in mock_model.usages)
    assert root["attributes"]["staso.usage.input_tokens"] == sent


def test_a_blocked_stop_continues_the_same_turn(sandbox, receiver, mock_model, isolated_homes):
    spans = _traced(
        sandbox,
        receiver,
        "SCENARIO:hello say hi",
        also={"Stop": USER_HOOK},
        HOOK_STOP_BLOCK="SCENARIO:hello once more",
    )
    assert len(mock_model.requests) == 2  # the answer, then the continuation
    roots = [s for s in spans if s["parent_span_id"] is None]
    assert len(roots) == 1 and len({s["trace_id"] for s in spans}) == 1
    root = roots[0]["attributes"]
    assert root["codex.turn_number"] == 1
    assert root["codex.stop_hook_active"] is True
    assert root["staso.usage.input_tokens"] == sum(u["input_tokens"] for u in mock_model.usages)
    assert len([s for s in spans if s["name"].startswith("chat ")]) == 2
