"""A transcript backlog far larger than one read loses nothing, for both agents.

When the worker reaches a Stop with more unread transcript than it reads at once (hooks
installed into a long session, a worker that was down), it must still find the turn's
lines behind the backlog, and a line longer than one read must be read whole. The read
size is made small here so the backlog is many reads long at a size CI can afford; the
memory this keeps flat at 100 MB is measured by `benchmarks/bench_backlog.py`.

The oracle is the same session without the backlog: the spans must be identical.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from replay_claude import FIXTURES_CLAUDE, Transcripts, load_events, replay
from test_codex_incremental import _events, _record, as_dicts, long_session, process

from staso_otel.targets import jsonl

READ = 4 * 1024  # bytes per read in these tests; every backlog line is longer
BACKLOG = 512 * 1024  # 128 reads


def _codex_spans(codex_home: Path, filler: int) -> tuple[list, dict[str, Any]]:
    path, _head, tail = long_session(codex_home, filler)
    with open(path, "ab") as fh:
        fh.write(tail)
    first, second = _events(codex_home)
    return process([_record(first + second)])


def test_codex_turn_behind_a_backlog_of_many_reads_keeps_every_span(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jsonl, "MAX_READ", READ)
    home = tmp_path / "codex"
    expected, _ = _codex_spans(home, 0)
    monkeypatch.setenv("STASO_HOME", str(tmp_path / "staso-backlog"))
    spans, state = _codex_spans(home, BACKLOG)
    assert "execute_tool update_plan" in {s.name for s in spans}  # transcript-only
    assert as_dicts(spans) == as_dicts(expected)
    assert "old-turn" not in state["facts"]  # the backlog's facts are not kept
    assert len(json.dumps(state)) < 8192


def _claude_backlog(size: int, start_ns: int) -> bytes:
    """Transcript lines of older prompts that fired no hooks (hooks not installed yet),
    each line longer than one read."""
    out: list[bytes] = []
    i = 0
    while sum(map(len, out)) < size:
        ts = jsonl_iso(start_ns + i * 1_000_000)
        prompt = {
            "type": "user",
            "promptId": f"old-prompt-{i}",
            "uuid": f"old-u{i}",
            "timestamp": ts,
            "message": {"role": "user", "content": f"old prompt {i}"},
        }
        answer = {
            "type": "assistant",
            "uuid": f"old-a{i}",
            "timestamp": ts,
            "message": {
                "id": f"msg_old_{i}",
                "role": "assistant",
                "model": "claude-old",
                "content": [{"type": "text", "text": "y" * 6000}],
                "usage": {"input_tokens": 1, "output_tokens": 1},
            },
        }
        out += [json.dumps(prompt).encode() + b"\n", json.dumps(answer).encode() + b"\n"]
        i += 1
    return b"".join(out)


def jsonl_iso(ns: int) -> str:
    from datetime import datetime, timezone

    when = datetime.fromtimestamp(ns / 1e9, timezone.utc)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _claude_spans(home: Path, backlog: int) -> list:
    fixture = FIXTURES_CLAUDE / "no_skip_perms"
    files = Transcripts(fixture, home)
    for path, _lines in files.files:
        path.unlink(missing_ok=True)  # write_until appends
    files.write_until(None)
    main = next(p for p, _ in files.files if "subagents" not in str(p))
    start = files.files[0][1][0][0] - 3600 * 10**9
    main.write_bytes(_claude_backlog(backlog, start) + main.read_bytes())
    return replay(fixture, home, events=load_events(fixture, home), keep_transcripts=True).spans


def test_claude_turn_behind_a_backlog_of_many_reads_keeps_every_span(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jsonl, "MAX_READ", READ)
    home = tmp_path / "home"
    expected = _claude_spans(home, 0)
    monkeypatch.setenv("STASO_HOME", str(tmp_path / "staso-backlog"))
    spans = _claude_spans(home, BACKLOG)
    assert any(s.name.startswith("chat ") for s in spans)  # model calls: transcript-only
    assert as_dicts(spans) == as_dicts(expected)


def _many_turns(home: Path, turns: int) -> list[tuple[int, dict[str, Any]]]:
    """The `hello` session's one turn repeated `turns` times a minute apart (new prompt
    and message ids), its transcript written whole: what a worker that was down finds."""
    fixture = FIXTURES_CLAUDE / "hello"
    events = load_events(fixture, home)
    ((path, lines),) = Transcripts(fixture, home).files
    start, *turn, end = events
    old_pid = turn[0][1]["prompt_id"]
    minute = 60 * 10**9
    out = bytearray()
    replayed = [start]
    for k in range(turns):

        def renamed(text: str, k: int = k) -> str:
            return text.replace(old_pid, f"{old_pid[:-4]}{k:04d}").replace(
                "msg_mock_0001", f"msg_mock_{k:04d}"
            )

        for _stamp, raw in lines:
            line = json.loads(renamed(raw.decode()))
            if "timestamp" in line:
                line["timestamp"] = jsonl_iso(jsonl.parse_ts(line["timestamp"]) + k * minute)
            if line.get("type") == "api-request":
                line["id"] = f"{line['id']}-{k}"
            if line.get("requestRef"):
                line["requestRef"] = f"{line['requestRef']}-{k}"
            out += json.dumps(line).encode() + b"\n"
        replayed += [(t + k * minute, json.loads(renamed(json.dumps(p)))) for t, p in turn]
    replayed.append((end[0] + turns * minute, end[1]))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(out))
    return replayed


def test_claude_worker_back_after_many_turns_keeps_every_model_call(tmp_path: Path) -> None:
    turns = 40  # more turns than the state keeps read-ahead facts for
    home = tmp_path / "home"
    events = _many_turns(home, turns)
    spans = replay(FIXTURES_CLAUDE / "hello", home, events=events, keep_transcripts=True).spans
    roots = {s.span_id: s for s in spans if s.parent_span_id is None}
    assert len(roots) == turns
    chats = [s for s in spans if s.name.startswith("chat ")]
    assert sorted(roots[c.parent_span_id].trace_id for c in chats) == sorted(
        r.trace_id for r in roots.values()
    )


def test_reader_stops_before_a_later_turns_lines(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    stamps = [jsonl_iso(n * 10**9) for n in (10, 11, 30, 31)]
    path.write_bytes(b"".join(json.dumps({"timestamp": s}).encode() + b"\n" for s in stamps))
    got = list(jsonl.read_chunks(str(path), 0, until_ns=20 * 10**9))
    assert [line["timestamp"] for chunk, _ in got for line in chunk] == stamps[:2]
    offset = got[-1][1]
    assert path.read_bytes()[offset:].startswith(b'{"timestamp": "' + stamps[2].encode())
    rest = [line for chunk, _ in jsonl.read_chunks(str(path), offset) for line in chunk]
    assert [line["timestamp"] for line in rest] == stamps[2:]
