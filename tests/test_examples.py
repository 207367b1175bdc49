"""Every example runs, against a receiver (and a stand-in OpenAI-compatible server)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from loopback_http import LoopbackHTTPServer

ROOT = Path(__file__).resolve().parent.parent


def run_example(name: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "examples" / name), *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


def test_agent_loop_example_is_traced(receiver):
    proc = run_example("agent_loop.py", "list things", "--endpoint", receiver.base_url)
    assert proc.returncode == 0, proc.stderr
    assert "I listed the folder" in proc.stdout
    names = sorted(s["name"] for s in receiver.spans)
    assert names == ["chat scripted-1"] * 3 + ["execute_tool run_shell"] * 2 + [
        "invoke_agent example-agent"
    ]
    shells = [s for s in receiver.spans if s["name"] == "execute_tool run_shell"]
    assert all(json.loads(s["attributes"]["output.value"])["exit_code"] == 0 for s in shells)
    root = next(s for s in receiver.spans if s["parent_span_id"] is None)
    assert root["attributes"]["staso.usage.input_tokens"] == 500 + 620 + 740


class _FakeOpenAI(BaseHTTPRequestHandler):
    calls = 0

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        assert self.headers["Authorization"] == "Bearer test-key"
        has_tool_result = any(m.get("role") == "tool" for m in body["messages"])
        if has_tool_result:
            message = {"role": "assistant", "content": "There are files."}
            finish = "stop"
        else:
            message = {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "run_shell", "arguments": '{"command": "echo 3"}'},
                    }
                ],
            }
            finish = "tool_calls"
        reply = {
            "id": f"chatcmpl-{len(body['messages'])}",
            "model": body["model"],
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": 100, "completion_tokens": 10},
        }
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def test_openai_compatible_example_against_a_local_stand_in(receiver):
    server = LoopbackHTTPServer(("127.0.0.1", 0), _FakeOpenAI)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        env = {
            "OPENAI_BASE_URL": f"http://127.0.0.1:{server.server_address[1]}/v1",
            "OPENAI_API_KEY": "test-key",
        }
        proc = run_example(
            "openai_compatible.py",
            "how many?",
            "--model",
            "stand-in",
            "--endpoint",
            receiver.base_url,
            env=env,
        )
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() == "There are files."
    finally:
        server.shutdown()
    names = sorted(s["name"] for s in receiver.spans)
    assert names == [
        "chat stand-in",
        "chat stand-in",
        "execute_tool run_shell",
        "invoke_agent openai-agent",
    ]
    chats = [s for s in receiver.spans if s["name"] == "chat stand-in"]
    assert {c["attributes"]["gen_ai.response.id"] for c in chats} == {"chatcmpl-1", "chatcmpl-3"}
    assert all(c["attributes"]["gen_ai.usage.input_tokens"] == 100 for c in chats)
    [shell] = [s for s in receiver.spans if s["name"] == "execute_tool run_shell"]
    assert shell["attributes"]["gen_ai.tool.call.id"] == "call_1"  # the model's id, by itself


def test_anthropic_example_streams_against_a_local_mock(receiver):
    from mock_llm import MockLLM, Step

    mock = MockLLM().start()
    mock.script = [
        Step(text="Counting.", tools=[("toolu_1", "run_shell", {"command": "echo 3"})]),
        Step(text="There are 3."),
    ]
    try:
        env = {"ANTHROPIC_BASE_URL": mock.base_url, "ANTHROPIC_API_KEY": "test-key"}
        proc = run_example(
            "anthropic_agent.py", "how many?", "--endpoint", receiver.base_url, env=env
        )
    finally:
        mock.stop()
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["Counting.", "There are 3."]
    names = sorted(s["name"] for s in receiver.spans)
    assert names == [
        "chat claude-sonnet-4-5",
        "chat claude-sonnet-4-5",
        "execute_tool run_shell",
        "invoke_agent claude-agent",
    ]
    [shell] = [s for s in receiver.spans if s["name"] == "execute_tool run_shell"]
    assert shell["attributes"]["gen_ai.tool.call.id"] == "toolu_1"
    root = next(s for s in receiver.spans if s["parent_span_id"] is None)
    assert root["attributes"]["staso.usage.input_tokens"] == 2 * 137


def test_openai_example_without_a_key_says_what_to_set(receiver):
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "openai_compatible.py"), "hi"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1 and "set OPENAI_API_KEY" in proc.stderr
