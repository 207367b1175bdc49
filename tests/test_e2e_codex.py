"""End to end with the real Codex CLI 0.169.0: hooks -> journal -> worker -> OTLP receiver."""

from __future__ import annotations

import os
from collections import Counter

import pytest
from e2e_codex import CodexSandbox, codex_binary
from mock_responses import MockResponses
from pipeline_helpers import run_staso

pytestmark = pytest.mark.e2e


@pytest.fixture
def mock_model():
    mock = MockResponses().start()
    yield mock
    mock.stop()


@pytest.fixture
def sandbox(tmp_path, mock_model) -> CodexSandbox:
    codex_binary()
    return CodexSandbox(tmp_path / "codex-e2e", mock_model.base_url)


def _flush(env: dict[str, str]) -> str:
    proc = run_staso("flush", env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_a_real_codex_session_arrives_as_traces(sandbox, receiver, mock_model, isolated_homes):
    sandbox.write_hooks()
    env = sandbox.env(
        STASO_HOME=os.environ["STASO_HOME"],
        STASO_ENDPOINT=receiver.endpoint,
        STASO_WORKER_IDLE_SECONDS="1",
    )
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

    staso_home = os.environ["STASO_HOME"]
    env = sandbox.env(
        STASO_HOME=staso_home,
        STASO_WORKER_IDLE_SECONDS="1",
        PATH=f"{codex_binary().parent}{os.pathsep}{os.environ['PATH']}",
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
