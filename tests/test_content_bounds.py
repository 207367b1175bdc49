"""Tool content the user's `max_attribute_bytes` can show arrives whole; beyond it, the
attribute cap cuts it, with its mark and `staso.truncated`, and JSON stays JSON.

What the state keeps of content until its unit closes was bounded on its own (32 KiB of
a hook's tool input/response, 128 KiB of transcript content), below a raised cap, and cut
there without a mark; a dict longer than the bound became a cut JSON string. Each case is
a recorded run whose tool content is made a few hundred KB, recorded through the real
hook path and exported by the real worker process to a real receiver.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pipeline_helpers import run_staso, run_worker_process
from replay import Recorded, Transcripts, record

from staso_otel import cores
from staso_otel import semconv as sc
from staso_otel.span.redact import TRUNCATION_MARK

FIXTURES = Path(__file__).parent / "fixtures"
BIG_IN = "".join(f"input line {i:06d} of a long file\n" for i in range(10_000))  # 320 KB
BIG_OUT = "".join(f"output line {i:06d} of the tool\n" for i in range(15_000))  # 435 KB
WHOLE, CUT = 1 << 20, 65536  # a cap above the content, and one below it


def _shell_input(command: dict[str, Any]) -> dict[str, Any]:
    return {**command, "command": f"cat <<'EOF'\n{BIG_IN}EOF"}


@dataclass(frozen=True)
class Case:
    recorded: Recorded
    fixture: str
    call: str  # the tool call whose content is made big (its span's gen_ai.tool.call.id)
    # rewrites one transcript line in place (True: it is the call's, so it was rewritten)
    line: Callable[[dict[str, Any]], bool] | None = None
    # what is left of a hook payload (None: dropped; the call becomes transcript-only)
    hook: Callable[[dict[str, Any]], dict[str, Any] | None] = lambda p: p
    out_call: str | None = None  # the call whose output is big, when another one


def _codex_line(line: dict[str, Any]) -> bool:
    p = line.get("payload") or {}
    if p.get("call_id") != "call_0002":
        return False
    if p.get("type") == "function_call":  # its arguments are a JSON string
        p["arguments"] = json.dumps({"cmd": BIG_IN, "yield_time_ms": 250})
    elif p.get("type") == "function_call_output":
        p["output"] = BIG_OUT
    return True


def _claude_line(line: dict[str, Any]) -> bool:
    content = (line.get("message") or {}).get("content")
    hit = False
    for block in content if isinstance(content, list) else []:
        if block.get("type") == "tool_use" and block.get("id") == "toolu_mock_0006":
            block["input"]["new_string"], hit = BIG_IN, True
        elif block.get("type") == "tool_result" and block.get("tool_use_id") == "toolu_mock_0006":
            block["content"], hit = BIG_OUT, True
    return hit


def _gemini_line(line: dict[str, Any]) -> bool:
    hit = False
    for call in line.get("toolCalls") or []:
        if call.get("name") == "write_file":
            call["args"]["content"], hit = BIG_IN, True
        elif call.get("name") == "read_file":
            call["result"][0]["functionResponse"]["response"]["output"], hit = BIG_OUT, True
    return hit


def _gemini_unhooked(payload: dict[str, Any]) -> dict[str, Any] | None:
    return None if payload.get("tool_name") in ("write_file", "read_file") else payload


def _claude_unhooked(payload: dict[str, Any]) -> dict[str, Any] | None:
    """No hook names toolu_mock_0006 (only the PostToolBatch after it did)."""
    calls = payload.get("tool_calls")
    if isinstance(calls, list):
        payload["tool_calls"] = [c for c in calls if c.get("tool_use_id") != "toolu_mock_0006"]
        return payload if payload["tool_calls"] else None
    return payload


def _claude_hooked(payload: dict[str, Any]) -> dict[str, Any] | None:
    for call in payload.get("tool_calls") or []:  # PostToolBatch: input, what the model saw
        if call.get("tool_use_id") == "toolu_mock_0002":
            call["tool_input"], call["tool_response"] = _shell_input(call["tool_input"]), BIG_OUT
    if payload.get("tool_use_id") != "toolu_mock_0002":
        return payload
    payload["tool_input"] = _shell_input(payload["tool_input"])
    if payload["hook_event_name"] == "PostToolUse":
        payload["tool_response"] = {**payload["tool_response"], "stdout": BIG_OUT}
    return payload


def _gemini_hooked(payload: dict[str, Any]) -> dict[str, Any] | None:
    if payload.get("tool_input", {}).get("command") != "cat notes.txt":
        return payload
    payload["tool_input"] = _shell_input(payload["tool_input"])
    if payload["hook_event_name"] == "AfterTool":
        payload["tool_response"] = {**payload["tool_response"], "llmContent": BIG_OUT}
    return payload


CODEX = Recorded("codex", FIXTURES / "codex", "sessions", ".codex/sessions")
CLAUDE = Recorded("claude-code", FIXTURES / "claude-code", "projects", ".claude/projects")
GEMINI = Recorded("gemini", FIXTURES / "gemini", "tmp", ".gemini/tmp")
GEMINI_READ = "read_file__read_file_1796164776396_0"
GEMINI_SHELL = "run_shell_command__run_shell_command_1796164801789_0"
CASES = {
    # content from the transcript: Codex's rollout wins over its hooks; the Claude Code
    # and Gemini calls are ones no hook saw (hooks installed mid-turn, a denied call)
    "codex-transcript": Case(CODEX, "misc", "call_0002", _codex_line),
    "claude-code-transcript": Case(
        CLAUDE, "no_skip_perms", "toolu_mock_0006", _claude_line, _claude_unhooked
    ),
    "gemini-transcript": Case(
        GEMINI,
        "work-0.61.0",
        "write_file__write_file_1796164772889_0",
        _gemini_line,
        _gemini_unhooked,
        GEMINI_READ,
    ),
    # content from the hooks alone
    "claude-code-hook": Case(CLAUDE, "no_skip_perms", "toolu_mock_0002", hook=_claude_hooked),
    "gemini-hook": Case(GEMINI, "work-0.61.0", GEMINI_SHELL, hook=_gemini_hooked),
}


def _transcripts(case: Case, home: Path) -> Path:
    """The case's transcripts under `home`, its call's lines made big; the run's folder."""
    fixture = case.recorded.root / case.fixture
    transcripts = Transcripts(case.recorded, fixture, home)
    transcripts.write_until(None)
    rewritten = 0
    for path, _ in transcripts.files if case.line else []:
        lines = [json.loads(raw) for raw in path.read_bytes().splitlines()]
        rewritten += sum(case.line(line) for line in lines)
        path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert rewritten or case.line is None, "the call's lines are not in the transcript"
    return fixture


def _export(case: Case, cap: int, tmp_path: Path, receiver, monkeypatch) -> list[dict]:
    """The case's run through the hook record path and the worker process, `cap` set."""
    monkeypatch.setenv("STASO_NO_WORKER", "1")
    monkeypatch.setenv("STASO_MAX_ATTRIBUTE_BYTES", str(cap))
    home = tmp_path / "agent-home"
    fixture = _transcripts(case, home)
    for t, payload in case.recorded.events(fixture, home):
        kept = case.hook(payload)
        if kept is not None:
            record(case.recorded.target, kept, t)
    proc = run_worker_process(receiver.endpoint, "exporting big tool content")
    assert proc.returncode == 0, proc.stderr
    return receiver.spans


def _import(case: Case, cap: int, tmp_path: Path, receiver) -> list[dict]:
    """The case's transcripts alone, as `staso import` finds them, `cap` set."""
    home = tmp_path / "agent-home"
    _transcripts(case, home)
    env = {
        **os.environ,
        "STASO_MAX_ATTRIBUTE_BYTES": str(cap),
        "CODEX_HOME": str(home / ".codex"),
        "CLAUDE_CONFIG_DIR": str(home / ".claude"),
    }
    target = case.recorded.target
    proc = run_staso("import", "--target", target, "--endpoint", receiver.endpoint, env=env)
    assert proc.returncode == 0, proc.stderr
    return receiver.spans


def _tool(spans: list[dict], call_id: str) -> dict[str, Any]:
    found = [s for s in spans if s["attributes"].get(sc.GEN_AI_TOOL_CALL_ID) == call_id]
    assert len(found) == 1, sorted(s["name"] for s in spans)
    return found[0]["attributes"]


def _holds(text: str, part: str) -> bool:
    """`part` is in `text`, or in a string of the JSON `text` is."""
    if part in text:
        return True
    try:
        return any(part in s for s in _strings(json.loads(text)))
    except ValueError:
        return False


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


def _arrived_whole(spans: list[dict], case: Case) -> None:
    attrs = _tool(spans, case.call)
    arguments = json.loads(attrs[sc.GEN_AI_TOOL_CALL_ARGUMENTS])
    assert any(BIG_IN in s for s in _strings(arguments))
    out = _tool(spans, case.out_call or case.call)
    for key in (sc.GEN_AI_TOOL_CALL_RESULT, sc.OUTPUT_VALUE):
        assert _holds(out[key], BIG_OUT), (key, len(out[key]))
    for span in spans:
        assert sc.STASO_TRUNCATED not in span["attributes"], span["name"]


def _arrived_cut(spans: list[dict], case: Case) -> None:
    attrs = _tool(spans, case.call)
    text = attrs[sc.GEN_AI_TOOL_CALL_ARGUMENTS]
    arguments = json.loads(text)  # a dict cut stays JSON
    assert isinstance(arguments, dict) and len(text.encode()) <= CUT
    assert TRUNCATION_MARK in text
    assert sc.GEN_AI_TOOL_CALL_ARGUMENTS in attrs[sc.STASO_TRUNCATED]
    out = _tool(spans, case.out_call or case.call)
    for key in (sc.GEN_AI_TOOL_CALL_RESULT, sc.OUTPUT_VALUE):
        assert len(out[key].encode()) <= CUT and TRUNCATION_MARK in out[key], key
        assert key in out[sc.STASO_TRUNCATED]
        assert _holds(out[key], BIG_OUT[:1000])


@pytest.mark.parametrize("name", sorted(CASES))
def test_content_up_to_the_cap_arrives_whole(name, tmp_path, receiver, monkeypatch):
    case = CASES[name]
    _arrived_whole(_export(case, WHOLE, tmp_path, receiver, monkeypatch), case)


@pytest.mark.parametrize("name", sorted(CASES))
def test_content_past_the_cap_is_cut_there_with_its_mark(name, tmp_path, receiver, monkeypatch):
    case = CASES[name]
    _arrived_cut(_export(case, CUT, tmp_path, receiver, monkeypatch), case)


IMPORTED = ["claude-code-transcript", "codex-transcript"]  # the agents `staso import` reads


@pytest.mark.parametrize("name", IMPORTED)
def test_import_keeps_what_the_cap_can_show(name, tmp_path, receiver):
    case = CASES[name]
    _arrived_whole(_import(case, WHOLE, tmp_path, receiver), case)


@pytest.mark.parametrize("name", IMPORTED)
def test_import_cuts_past_the_cap_with_its_mark(name, tmp_path, receiver):
    case = CASES[name]
    _arrived_cut(_import(case, CUT, tmp_path, receiver), case)


@pytest.mark.parametrize("cap", [WHOLE, CUT])
def test_an_import_rebuilt_in_a_child_keeps_the_bound(cap, tmp_path, receiver, monkeypatch):
    """A large import rebuilds in a child process (backfill/child.py): the cap reaches it."""
    from clone_sessions import clone

    from staso_otel import settings
    from staso_otel.backfill import child, run, sources

    case = CASES["codex-transcript"]
    home = tmp_path / "agent-home"
    _transcripts(case, home)
    clone("codex", "tour_resume", home, 1)  # a second session: a child is worth it
    monkeypatch.setenv("CODEX_HOME", str(home / ".codex"))
    monkeypatch.setattr(child, "MIN_BYTES", 0)  # these few MB: a child all the same
    monkeypatch.setattr(cores, "free", lambda: 2.0)  # whatever the machine's load
    found = sources.find(("codex",))
    assert child.worth_it(found.sessions)
    st = settings.load(overrides={"endpoint": receiver.endpoint, "max_attribute_bytes": cap})
    report = run.run(found, settings=st, home=tmp_path / "import-home")
    assert not report.skipped and not report.errors, report
    (_arrived_whole if cap == WHOLE else _arrived_cut)(receiver.spans, case)
