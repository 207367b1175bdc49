"""No secret of the corpus arrives anywhere: receiver, spool, local store. [end to end]

Two recorded real sessions (Claude Code `agent`, Codex `spawn_v1`: a prompt, a Bash call,
a sub-agent, a final answer) are edited: every content string the agent really sent or
wrote (the prompt, tool arguments, tool output as a string, as an object and as a JSON
document inside a string, the model's answer, the sub-agent's answer), in the hook
payloads and in the transcripts/rollouts alike, gets a block with every secret of
`secrets_corpus` in every `FORMATS` shape, each tagged. The payloads go through the real
hook process (`python -m staso_otel.hook`), then `staso flush` (the worker's drain) to:
a dead port (the spans wait in the spool, which is read), `staso collector` (its SQLite
store is read) and the OTLP receiver (the raw request bodies are read).

Checked: every tag arrives (the content carrying the secret was exported, so the test
cannot pass by losing it) and no needle of any secret does.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from pipeline_helpers import run_hook_process
from replay import FIXTURES_CODEX, RECORDED_CODEX_HOME, RECORDED_HOME
from replay_claude import FIXTURES_CLAUDE
from secrets_corpus import FORMATS, SECRETS, needles

from staso_otel.span.build import CONTENT_KEYS

CATEGORIES = ("prompt", "tool_args", "tool_output", "model_output", "subagent_output")
LIBRARY_SCRIPT = """
import json, sys
import staso_otel
blocks = json.loads(sys.stdin.read())
provider = staso_otel.configure(agent="lib-bot", endpoint=sys.argv[1])
with staso_otel.turn(blocks["prompt"], session_id="lib-1", model="m") as turn:
    with staso_otel.llm_call("m") as call:
        call.set_response(blocks["model_output"])
    with staso_otel.tool_call("Bash", {"command": blocks["tool_args"]}) as tool:
        tool.set_result({"stdout": blocks["tool_output"], "exit_code": 0})
    with staso_otel.tool_call("Read", {"path": "/x"}) as tool:
        tool.set_result(blocks["subagent_output"])
    turn.set_response(blocks["model_output"])
provider.shutdown()
"""
BIG_CAP = str(8 * 1024 * 1024)  # nothing is cut: every tag must be able to arrive


def _tag(agent: str, cat: str, i: int, f: int) -> str:
    return f"<<{agent[0]}{CATEGORIES.index(cat)}s{i:02d}f{f}>>"


def _block(agent: str, cat: str) -> str:
    lines = [""]
    for i, secret in enumerate(SECRETS):
        for f, (_, place) in enumerate(FORMATS):
            lines.append(f"{place(secret.line)} {_tag(agent, cat, i, f)}")
    return "\n".join(lines)


# Fields of tool inputs and outputs that name things rather than carry content.
NOT_CONTENT = {"agentId", "agent_id", "resolvedModel", "model", "status", "outputFile"}
NOT_CONTENT |= {"nickname", "subagent_type", "type", "id", "targets", "description"}


def _originals(payloads: list[dict[str, Any]]) -> dict[str, str]:
    """Content strings of the recorded hook payloads -> the placement they stand for."""
    found: dict[str, str] = {}

    def strings(value: Any) -> list[str]:
        if isinstance(value, str):
            try:
                inner = json.loads(value) if value[:1] in "{[" else None
            except ValueError:
                inner = None
            return strings(inner) if inner is not None else [value]
        if isinstance(value, dict):
            return [s for k, v in value.items() if k not in NOT_CONTENT for s in strings(v)]
        if isinstance(value, list):
            return [s for v in value for s in strings(v)]
        return []

    for p in payloads:
        event = p.get("hook_event_name")
        picks = {
            "prompt": [p.get("prompt")] if event == "UserPromptSubmit" else [],
            "tool_args": strings(p.get("tool_input")),
            "tool_output": strings(p.get("tool_response")),
            "model_output": [p.get("last_assistant_message"), p.get("delta")]
            if event in ("Stop", "MessageDisplay")
            else [],
            "subagent_output": [p.get("last_assistant_message")] if event == "SubagentStop" else [],
        }
        for cat, values in picks.items():
            for v in values:
                # ids, paths and flags are not content; the texts of these fields are
                if isinstance(v, str) and v and not re.fullmatch(r"[0-9a-f-]{16,}|/\S*", v):
                    found.setdefault(v, cat)
    return found


class Injector:
    def __init__(self, agent: str, originals: dict[str, str]) -> None:
        self.originals = originals
        self.blocks = {cat: _block(agent, cat) for cat in CATEGORIES}
        self.used: set[str] = set()

    def __call__(self, value: Any) -> Any:
        if isinstance(value, str):
            if value in self.originals:
                cat = self.originals[value]
                self.used.add(cat)
                return value + self.blocks[cat]
            if value[:1] in "{[":
                try:
                    inner = json.loads(value)
                except ValueError:
                    return value
                edited = self(inner)
                return value if edited == inner else json.dumps(edited)
            return value
        if isinstance(value, dict):
            return {k: self(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self(v) for v in value]
        return value


def _edit_tree(src: Path, dst: Path, rewrite: tuple[str, str], inject: Injector) -> None:
    for path in sorted(src.rglob("*")):
        if path.is_dir():
            continue
        out = dst / path.relative_to(src)
        out.parent.mkdir(parents=True, exist_ok=True)
        text = path.read_text().replace(*rewrite)
        if path.suffix == ".jsonl":
            text = "".join(
                json.dumps(inject(json.loads(line))) + "\n" for line in text.splitlines() if line
            )
        out.write_text(text)


def record_with_secrets(agent: str, tmp: Path, env: dict[str, str]) -> Injector:
    """The edited recording through real hook processes; returns the injector used."""
    if agent == "codex":
        fixture, home = FIXTURES_CODEX / "spawn_v1", Path(env["CODEX_HOME"])
        rewrite, trees = (RECORDED_CODEX_HOME, str(home)), [("sessions", home / "sessions")]
    else:
        fixture, home = FIXTURES_CLAUDE / "agent", Path(env["HOME"])
        rewrite = (RECORDED_HOME + "/", str(home) + "/")
        trees = [("projects", home / ".claude" / "projects")]
    lines = (fixture / "hooks.jsonl").read_text().replace(*rewrite).splitlines()
    payloads = [json.loads(line)["payload"] for line in lines if line.strip()]
    inject = Injector(agent, _originals(payloads))
    for name, dst in trees:
        _edit_tree(fixture / name, dst, rewrite, inject)
    target = "codex" if agent == "codex" else "claude-code"
    for payload in payloads:
        run_hook_process(target, json.dumps(inject(payload)).encode(), env)
    assert inject.used == set(CATEGORIES), inject.used  # every placement exists
    return inject


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _flush(env: dict[str, str], endpoint: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "staso_cli.entry", "flush"],
        env={**env, "STASO_ENDPOINT": endpoint},
        capture_output=True,
        text=True,
        timeout=300,
    )


def _unique_lines(text: str) -> str:
    """Content repeats across spans; one copy of each line keeps the needle search short."""
    return "\n".join(set(re.split(r"\n|\\+n", text)))


def _leaks(where: str, text: str) -> list[str]:
    text = _unique_lines(text)
    leaks = []
    for secret in SECRETS:
        for fmt, _ in FORMATS:
            for needle in needles(secret, fmt):
                if needle in text:
                    leaks.append(f"{where}: {secret.kind} ({fmt}) {needle!r}")
                    break
    return leaks


def _missing_tags(text: str, agents: list[str]) -> list[str]:
    return [
        _tag(agent, cat, i, f)
        for agent in agents
        for cat in CATEGORIES
        for i in range(len(SECRETS))
        for f in range(len(FORMATS))
        if _tag(agent, cat, i, f) not in text
    ]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "STASO_NO_WORKER": "1",
        "STASO_MAX_ATTRIBUTE_BYTES": BIG_CAP,
    }


def _spool_text(staso_home: Path) -> str:
    root = staso_home / "spool"
    return "\n".join(p.read_text(errors="replace") for p in sorted(root.rglob("*.batch")))


def _store_text(db: Path) -> str:
    con = sqlite3.connect(db)
    try:
        rows = con.execute(
            "SELECT name, status_message, attributes, resource, events FROM spans"
        ).fetchall()
    finally:
        con.close()
    assert rows
    return "\n".join(str(col) for row in rows for col in row)


def _collector(env: dict[str, str], port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "staso_cli.entry", "collector", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        time.sleep(0.1)
    proc.kill()
    raise AssertionError("staso collector did not start")


def test_no_secret_of_the_corpus_arrives_anywhere(receiver, env, tmp_path):
    assert len(SECRETS) >= 60 and len({s.kind for s in SECRETS}) == len(SECRETS)
    staso_home = Path(env["STASO_HOME"])
    for agent in ("claude", "codex"):
        record_with_secrets(agent, tmp_path, env)

    # 1. the backend is down: everything waits in the spool, redacted already
    dead = _flush(env, f"http://127.0.0.1:{_free_port()}/v1/traces")
    assert dead.returncode == 1, dead.stdout + dead.stderr
    spool = _spool_text(staso_home)
    assert not _missing_tags(spool, ["claude", "codex"])
    leaks = _leaks("spool", spool)
    saved = tmp_path / "spool-copy"
    shutil.copytree(staso_home / "spool", saved)

    # 2. `staso collector`, the local store
    port = _free_port()
    collector = _collector(env, port)
    try:
        sent = _flush(env, f"http://127.0.0.1:{port}/v1/traces")
        assert sent.returncode == 0, sent.stdout + sent.stderr
    finally:
        collector.terminate()
        collector.wait(timeout=30)
    store = _store_text(staso_home / "local" / "traces.sqlite")
    assert not _missing_tags(store, ["claude", "codex"])
    leaks += _leaks("local store", store)

    # 3. the same batches to the OTLP receiver: the raw protobuf bodies as they arrived
    shutil.rmtree(staso_home / "spool")
    shutil.copytree(saved, staso_home / "spool")
    sent = _flush(env, receiver.endpoint)
    assert sent.returncode == 0, sent.stdout + sent.stderr
    arrived = b"\n".join(r["body"] for r in receiver.requests).decode("utf-8", "replace")
    assert not _missing_tags(arrived, ["claude", "codex"])
    leaks += _leaks("receiver", arrived)
    assert not leaks, f"{len(leaks)} leaks:\n" + "\n".join(leaks[:80])
    redacted = sum(s["attributes"].get("staso.redacted", 0) for s in receiver.spans)
    assert redacted >= len(SECRETS) * len(FORMATS) * len(CATEGORIES) * 2


def test_genai_capture_message_content_false_sends_no_content(receiver, env, tmp_path):
    env = {**env, "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "false"}
    for agent in ("claude", "codex"):
        record_with_secrets(agent, tmp_path, env)
    sent = _flush(env, receiver.endpoint)
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert len(receiver.spans) > 10
    for span in receiver.spans:
        assert not CONTENT_KEYS & set(span["attributes"]), span["name"]
    arrived = b"\n".join(r["body"] for r in receiver.requests).decode("utf-8", "replace")
    assert "<<" not in arrived and not _leaks("receiver", arrived)


def _library_turn(env: dict[str, str], endpoint: str) -> None:
    """A turn traced with `staso_otel` (the library), the blocks as its content."""
    blocks = {cat: _block("library", cat) for cat in CATEGORIES}
    proc = subprocess.run(
        [sys.executable, "-c", LIBRARY_SCRIPT, endpoint],
        input=json.dumps(blocks),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_no_secret_of_the_corpus_leaves_through_the_library(receiver, env):
    _library_turn(env, receiver.base_url)
    assert receiver.wait_for(lambda spans: len(spans) >= 4)
    arrived = b"\n".join(r["body"] for r in receiver.requests).decode("utf-8", "replace")
    assert not _missing_tags(arrived, ["library"])
    leaks = _leaks("receiver", arrived)
    assert not leaks, f"{len(leaks)} leaks:\n" + "\n".join(leaks[:80])


def test_genai_capture_message_content_false_holds_for_the_library(receiver, env):
    env = {**env, "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "false"}
    _library_turn(env, receiver.base_url)
    assert receiver.wait_for(lambda spans: len(spans) >= 4)
    for span in receiver.spans:
        assert not CONTENT_KEYS & set(span["attributes"]), span["name"]
    arrived = b"\n".join(r["body"] for r in receiver.requests).decode("utf-8", "replace")
    assert "<<" not in arrived
