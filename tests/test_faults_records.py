"""One bad record must not cost its session: a lone surrogate (what Node's JSON.stringify
writes for an emoji cut in half) or JSON nested ~1000 deep, in a hook payload or in the
agent's own transcript. Recorded sessions of both agents go through the hooks' record path
and the real worker process; the worker must deliver the rest and exit on its own."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from otlp_receiver import Receiver
from pipeline_helpers import run_hook_process, run_worker_process

from staso_otel.export import losses
from staso_otel.local import replay

FIXTURES = Path(__file__).parent / "fixtures"
LONE = "\ud83d"  # the first half of 😀 (U+1F600)
AGENT_DIRS = {"codex": "sessions", "claude-code": "projects"}


def _deep(depth: int) -> object:
    value: object = "bottom"
    for _ in range(depth):
        value = {"a": value}
    return value


def _recording(tmp: Path, target: str, name: str, change=None, event: str = "PostToolUse") -> Path:
    """A copy of a recorded session, its first `event` payload changed by `change`."""
    folder = "codex" if target == "codex" else "claude-code"
    dst = tmp / f"rec-{target}-{name}-{'changed' if change else 'clean'}"
    shutil.copytree(FIXTURES / folder / name, dst)
    if change is not None:
        lines = (dst / "hooks.jsonl").read_text().splitlines()
        for i, line in enumerate(lines):
            item = json.loads(line)
            if item["payload"]["hook_event_name"] == event:
                change(item["payload"])
                lines[i] = json.dumps(item)  # ensure_ascii: the surrogate stays a \\u escape
                break
        (dst / "hooks.jsonl").write_text("\n".join(lines) + "\n")
    return dst


def _session(
    mp, tmp: Path, receiver: Receiver, target: str, recording: Path, label: str, edit=None
):
    """Replay `recording` into a fresh STASO_HOME, optionally edit the agent's files, run
    the worker; returns the spans this session delivered and the home."""
    home = tmp / f"staso-{label}"
    mp.setenv("STASO_HOME", str(home))
    agent_home = tmp / f"agent-{label}"
    replay.replay(recording, agent_home, target=target)
    if edit is not None:
        edit(agent_home)
    start = len(receiver.spans)
    proc = run_worker_process(receiver.endpoint, "spinning on a bad record", home)
    assert proc.returncode == 0, proc.stderr
    return receiver.spans[start:], home


def _clean_then_edited(mp, tmp: Path, receiver: Receiver, target: str, editor):
    """The recording replayed clean, then again with `editor(target)` applied to the
    agent's own files: the edited run's spans and home, once it is checked that the edited
    run delivered every span of the clean one, none twice."""
    mp.setenv("STASO_NO_WORKER", "1")
    recording = _recording(tmp, target, "tour_resume")
    clean, _ = _session(mp, tmp, receiver, target, recording, "clean")
    spans, home = _session(mp, tmp, receiver, target, recording, "bad", edit=editor(target))
    assert _ids(spans) == _ids(clean)
    assert len(spans) == len(clean)
    return spans, home


def _ids(spans: list[dict]) -> set[tuple[str, str]]:
    return {(s["trace_id"], s["span_id"]) for s in spans}


def _text(spans: list[dict]) -> str:
    return json.dumps([s["attributes"] for s in spans], ensure_ascii=False)


def _log(home: Path) -> str:
    path = home / "logs" / "staso.log"
    return path.read_text() if path.exists() else ""


@pytest.mark.parametrize("target", ["claude-code", "codex"])
def test_a_lone_surrogate_in_a_tool_output_costs_nothing(receiver, tmp_path, monkeypatch, target):
    monkeypatch.setenv("STASO_NO_WORKER", "1")
    name = "tour_resume"
    clean, _ = _session(
        monkeypatch, tmp_path, receiver, target, _recording(tmp_path, target, name), "clean"
    )

    def cut_emoji(payload: dict) -> None:
        payload["tool_response"] = {"stdout": f"cut emoji {LONE} here", "stderr": ""}

    def cut_prompt(payload: dict) -> None:
        payload["prompt"] = f"cut emoji {LONE} here"

    if target == "codex":  # Codex's tool output comes from its rollout: cut the prompt
        bad = _recording(tmp_path, target, name, cut_prompt, event="UserPromptSubmit")
    else:
        bad = _recording(tmp_path, target, name, cut_emoji)
    spans, home = _session(monkeypatch, tmp_path, receiver, target, bad, "bad")
    assert _ids(spans) == _ids(clean)  # every span of the session, none twice
    assert len(spans) == len(clean)
    assert LONE not in _text(spans)
    assert "cut emoji \ufffd here" in _text(spans)  # repaired, the rest kept
    assert "ERROR" not in _log(home)  # handled, not a crash loop
    assert losses.read(home)[losses.REPAIRED]  # and counted for status and flush


def _cut_in_transcript(target: str):
    """Put a lone surrogate escape into text of the agent's own file."""

    def edit(agent_home: Path) -> None:
        root = agent_home / (".codex/sessions" if target == "codex" else ".claude/projects")
        # text that reaches a span: a tool's output (Codex), the model's answer (Claude Code)
        needle = b'Output:\\nhi\\n"' if target == "codex" else b'"text":"Running echo."'
        cut = b'Output:\\nhi \\ud83d\\n"' if target == "codex" else b'"text":"Running \\ud83d"'
        for path in sorted(root.rglob("*.jsonl")):
            data = path.read_bytes()
            if needle in data:
                path.write_bytes(data.replace(needle, cut, 1))
                return
        raise AssertionError(f"no tool result to cut in {root}")

    return edit


@pytest.mark.parametrize("target", ["claude-code", "codex"])
def test_a_lone_surrogate_in_the_transcript_costs_nothing(receiver, tmp_path, monkeypatch, target):
    spans, home = _clean_then_edited(monkeypatch, tmp_path, receiver, target, _cut_in_transcript)
    assert LONE not in _text(spans)
    assert "\ufffd" in _text(spans)  # the cut text arrived, repaired
    assert "ERROR" not in _log(home)


def _deep_line(depth: int) -> bytes:
    return b'{"type":"progress","data":' + b'{"a":' * depth + b'"x"' + b"}" * depth + b"}\n"


def _nest_in_transcript(target: str):
    """Insert a line nested 3,000 deep after the first line of the agent's own file."""

    def edit(agent_home: Path) -> None:
        root = agent_home / (".codex/sessions" if target == "codex" else ".claude/projects")
        path = sorted(root.rglob("*.jsonl"))[0]
        head, sep, tail = path.read_bytes().partition(b"\n")
        path.write_bytes(head + sep + _deep_line(3000) + tail)

    return edit


@pytest.mark.parametrize("target", ["claude-code", "codex"])
def test_json_nested_thousands_deep_in_the_transcript_costs_nothing(
    receiver, tmp_path, monkeypatch, target
):
    _, home = _clean_then_edited(monkeypatch, tmp_path, receiver, target, _nest_in_transcript)
    assert "ERROR" not in _log(home)


@pytest.mark.parametrize("target", ["claude-code", "codex"])
def test_json_nested_as_deep_as_the_hook_takes_costs_only_its_record(
    receiver, tmp_path, monkeypatch, target
):
    """The hook parses a payload at the top of its stack; the worker decodes it deeper
    down. The deepest payload the real hook process records must cost at most itself:
    the worker reads journal lines with orjson, which takes 1,024 levels, so it costs
    nothing (the standard library's decoder, deeper in the worker's stack, skipped it)."""
    monkeypatch.setenv("STASO_NO_WORKER", "1")
    recording = _recording(tmp_path, target, "tour_resume")
    clean, _ = _session(monkeypatch, tmp_path, receiver, target, recording, "clean")
    home = tmp_path / "staso-bad"
    monkeypatch.setenv("STASO_HOME", str(home))
    replay.replay(recording, tmp_path / "agent-bad", target=target)
    (session,) = {s["attributes"]["session.id"] for s in clean}
    env = {k: v for k, v in os.environ.items() if k != "STASO_RAISE_INTERNAL"}
    journal = next((home / "journal").rglob("*.jsonl"))
    for depth in range(995, 900, -5):  # bounded: the deepest the hook still records
        size = journal.stat().st_size
        nested = b'{"a":' * depth + b'"x"' + b"}" * depth
        run_hook_process(
            target,
            b'{"session_id":"%s","hook_event_name":"Notification","extra":%s}'
            % (session.encode(), nested),
            env,
        )
        if journal.stat().st_size > size:
            break
    else:
        pytest.fail("the hook recorded no deep payload")
    start = len(receiver.spans)
    proc = run_worker_process(receiver.endpoint, "spinning on a bad record", home)
    assert proc.returncode == 0
    spans = receiver.spans[start:]
    assert _ids(spans) == _ids(clean)
    assert "ERROR worker" not in _log(home)  # (the hook logs the deeper ones it refused)
    assert losses.SKIPPED not in losses.read(home)
