"""The Codex reducer across batches and time: any split of the journal gives the same
spans, open turns expire as unfinished, and a late turn reads only its own rollout bytes."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from replay import FIXTURES_CODEX, Rollouts, load_events, ts_ns

from staso_otel import semconv as sc
from staso_otel.hook import main as hook_main
from staso_otel.record import journal
from staso_otel.record.journal import Record
from staso_otel.span.model import SpanData
from staso_otel.targets import Context, get
from staso_otel.targets.codex import transcript

CODEX = get("codex")


def record_all(name: str, codex_home: Path, until: int | None = None) -> list[Record]:
    """Record a fixture's events through the hook path (complete rollouts); the records."""
    events = load_events(FIXTURES_CODEX / name, codex_home)[:until]
    Rollouts(FIXTURES_CODEX / name, codex_home).write_until(None)
    for t, payload in events:
        assert hook_main.record("codex", json.dumps(payload).encode(), t)
    path = journal.journal_path("codex", events[0][1]["session_id"])
    return list(journal.read(path))


def process(batches: list[list[Record]], now: int = 0) -> tuple[list[SpanData], dict[str, Any]]:
    state: dict[str, Any] = {}
    spans: list[SpanData] = []
    for batch in batches:
        spans += CODEX.process(state, batch, Context(now_ns=now))
        state = json.loads(json.dumps(state))
    return spans, state


def as_dicts(spans: list[SpanData]) -> dict[int, dict]:
    return {s.span_id: s.to_dict() for s in spans}


@pytest.mark.parametrize("name", ["tour_resume", "spawn_v1", "stop_block", "codemode"])
def test_any_split_gives_the_same_spans(tmp_path: Path, name: str) -> None:
    records = record_all(name, tmp_path / "codex")
    whole, _ = process([records])
    for cut in range(1, len(records)):
        split, _ = process([records[:cut], records[cut:]])
        assert as_dicts(split) == as_dicts(whole), f"split at {cut}"
    singles, _ = process([[r] for r in records])
    assert as_dicts(singles) == as_dicts(whole)


def test_open_turn_expires_as_unfinished(tmp_path: Path) -> None:
    records = record_all("hello", tmp_path / "codex")
    kinds = [r.payload["hook_event_name"] for r in records]
    open_part = records[: kinds.index("Stop")]  # Codex died before Stop
    spans, state = process([open_part])
    assert spans == []
    expired = CODEX.expire(state, Context(now_ns=records[-1].received_ns + 86_400 * 10**9))
    (root,) = [s for s in expired if s.parent_span_id is None]
    assert root.attributes[sc.STASO_TURN_OUTCOME] == sc.TURN_UNFINISHED
    assert root.attributes[sc.STASO_TURN_END_REASON] == "expired"
    assert root.status == sc.STATUS_ERROR
    assert root.end_ns == open_part[-1].received_ns  # the last thing that happened
    chats = [s for s in expired if s.name.startswith("chat ")]
    assert len(chats) == 1 and chats[0].parent_span_id == root.span_id
    assert chats[0].attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 1000
    assert CODEX.expire(state, Context(now_ns=0)) == []  # nothing is emitted twice


def test_tool_call_open_at_expiry_is_closed_too(tmp_path: Path) -> None:
    records = record_all("tour_resume", tmp_path / "codex")
    kinds = [r.payload["hook_event_name"] for r in records]
    cut = kinds.index("PostToolUse")  # the first command never reported back
    _spans, state = process([records[:cut]])
    expired = CODEX.expire(state, Context(now_ns=records[cut].received_ns))
    emitted = {s.span_id for s in expired}
    assert all(s.parent_span_id in emitted for s in expired if s.parent_span_id)
    tool = next(s for s in expired if s.name == "execute_tool exec_command")
    assert tool.status == sc.STATUS_ERROR
    assert tool.attributes[sc.ERROR_TYPE] == "no_result"


def test_restart_closes_a_turn_left_open(tmp_path: Path) -> None:
    records = record_all("tour_resume", tmp_path / "codex")
    kinds = [r.payload["hook_event_name"] for r in records]
    first_stop = kinds.index("Stop")
    # drop turn 1's Stop and SessionEnd: `codex exec resume` starts while it is open
    kept = records[:first_stop] + records[first_stop + 2 :]
    spans, _ = process([kept])
    roots = sorted((s for s in spans if s.parent_span_id is None), key=lambda s: s.start_ns)
    assert [r.attributes[sc.CODEX_TURN_NUMBER] for r in roots] == [1, 2]
    # closed by turn 2's first event, not by SessionStart: async hooks may journal that late
    assert roots[0].attributes[sc.STASO_TURN_END_REASON] == "next_turn"
    # the rollout says turn 1 completed, so it is not called unfinished
    assert roots[0].attributes[sc.STASO_TURN_OUTCOME] == sc.TURN_COMPLETED


def test_odd_events_are_ignored_not_fatal(tmp_path: Path) -> None:
    def rec(payload: dict[str, Any], t: int) -> Record:
        return Record("codex", t, payload)

    sid = "sess-odd"
    odd = [
        rec({"session_id": sid, "hook_event_name": "FutureEvent", "turn_id": "x"}, 1),
        rec(
            {
                "session_id": sid,
                "hook_event_name": "PreToolUse",
                "turn_id": "t1",
                "tool_name": "Bash",
                "tool_input": "not an object",
            },
            2,
        ),
        rec(
            {
                "session_id": sid,
                "hook_event_name": "PostToolUse",
                "turn_id": "t1",
                "tool_name": "Bash",
                "tool_response": {"weird": [1, 2]},
            },
            3,
        ),
        rec(
            {
                "session_id": sid,
                "hook_event_name": "PostModelRequest",
                "turn_id": "t1",
                "token_usage": {"input_tokens": "many"},
            },
            4,
        ),
        rec(
            {
                "session_id": sid,
                "hook_event_name": "Stop",
                "turn_id": "t1",
                "transcript_path": str(tmp_path / "missing.jsonl"),
            },
            5,
        ),
        rec({"hook_event_name": "Stop"}, 6),
    ]
    spans, state = process([odd])
    names = sorted(s.name for s in spans)
    assert names == ["chat", "execute_tool exec_command", "invoke_agent codex"]
    assert state["turns"] == {}


# --- cost: a late turn reads only its own rollout bytes --------------------------------------


def _filler(turn_id: str, start_ns: int, size: int) -> bytes:
    """Rollout lines of an old turn that fired no hooks, about `size` bytes."""

    def line(ordinal: int, ns: int, kind: str, payload: dict) -> bytes:
        when = datetime.fromtimestamp(ns / 1e9, timezone.utc)
        iso = when.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        data = {"timestamp": iso, "ordinal": ordinal, "type": kind, "payload": payload}
        return json.dumps(data).encode() + b"\n"

    out = [line(0, start_ns, "event_msg", {"type": "task_started", "turn_id": turn_id})]
    text = "x" * 8000
    i = 1
    while sum(map(len, out)) < size:
        payload = {"type": "function_call_output", "call_id": f"old_{i}", "output": text}
        out.append(line(i, start_ns + i * 1000, "response_item", payload))
        i += 1
    return b"".join(out)


def long_session(codex_home: Path, filler_bytes: int) -> tuple[Path, bytes, bytes]:
    """tour_resume's rollout with `filler_bytes` of older turns before it; returns the
    rollout path, the bytes up to turn 2 and turn 2's bytes."""
    rollouts = Rollouts(FIXTURES_CODEX / "tour_resume", codex_home)
    ((path, lines),) = rollouts.files
    turn2_at = next(
        i for i, (_, raw) in enumerate(lines) if b'"task_started"' in raw and b"add3" in raw
    )
    # a thread_settings_applied line precedes turn 2's task_started: keep it with turn 2
    head = b"".join(raw for _, raw in lines[: turn2_at - 1])
    tail = b"".join(raw for _, raw in lines[turn2_at - 1 :])
    start = lines[0][0] - 3600 * 10**9
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = lines[0][1]  # session_meta first, then the older turns, then this session's
    path.write_bytes(meta + _filler("old-turn", start, filler_bytes) + head[len(meta) :])
    return path, head, tail


def _events(codex_home: Path) -> tuple[list, list]:
    events = load_events(FIXTURES_CODEX / "tour_resume", codex_home)
    kinds = [p["hook_event_name"] for _, p in events]
    second = kinds.index("SessionStart", 1)
    return events[:second], events[second:]


def _record(events: list) -> list[Record]:
    for t, payload in events:
        assert hook_main.record("codex", json.dumps(payload).encode(), t)
    path = journal.journal_path("codex", events[0][1]["session_id"])
    return list(journal.read(path))


FILLER = 5 * 1024 * 1024


def test_late_turn_reads_only_new_bytes(tmp_path: Path) -> None:
    path, _head, tail = long_session(tmp_path / "codex", FILLER)
    turn1, turn2 = _events(tmp_path / "codex")
    records = _record(turn1)
    spans, state = process([records])
    assert len([s for s in spans if s.parent_span_id is None]) == 1
    assert "old-turn" not in state["facts"]  # facts of turns that fired no hooks are dropped
    assert len(json.dumps(state)) < 8192
    with open(path, "ab") as fh:
        fh.write(tail)
    before = transcript.stats["bytes_read"]
    more = _record(turn2)[len(records) :]
    new_spans = CODEX.process(state, more, Context(now_ns=0))
    read = transcript.stats["bytes_read"] - before
    assert read <= len(tail)
    failing = [s for s in spans if s.attributes.get(sc.STASO_SHELL_EXIT_CODE) == 3]
    assert failing  # turn 1 still had its rollout facts
    ls = next(s for s in new_spans if s.name == "execute_tool exec_command")
    assert ls.attributes[sc.STASO_SHELL_EXIT_CODE] == 0
    assert ls.attributes[sc.STASO_SHELL_STDOUT] == "hello.txt\nimg.png\n"


FIRST_READ = 64 * 1024  # a first read: of the header line, and back from the end beyond the turn


@pytest.mark.parametrize("filler", [FILLER, 20 * 1024 * 1024])
def test_resume_with_no_state_reads_about_the_turn_only(tmp_path: Path, filler: int) -> None:
    """Issue 15: the first turn of `codex exec resume` (no state) finds where the turn
    starts by reading back from the end and stops at its opening line: what it reads is
    the turn's own bytes and one small chunk, the same at 5 MB and 20 MB of session."""
    path, _head, tail = long_session(tmp_path / "codex", filler)
    with open(path, "ab") as fh:
        fh.write(tail)
    _turn1, turn2 = _events(tmp_path / "codex")
    records = _record(turn2)
    before = transcript.stats["bytes_read"]
    spans, _state = process([records])
    assert transcript.stats["bytes_read"] - before <= 2 * FIRST_READ + len(tail)
    (root,) = [s for s in spans if s.parent_span_id is None]
    assert root.attributes[sc.OUTPUT_VALUE] == "Second turn finished."
    ls = next(s for s in spans if s.name == "execute_tool exec_command")
    assert ls.attributes[sc.STASO_SHELL_EXIT_CODE] == 0
    chats = [s for s in spans if s.name.startswith("chat ")]
    assert [c.attributes[sc.GEN_AI_RESPONSE_ID] for c in chats] == ["resp_0021", "resp_0023"]


def test_resume_finds_the_start_of_a_turn_longer_than_the_first_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A turn with a line far longer than the first chunk and no turn id on it (a large
    tool output) is still read from its opening line, and the rollout's first line (the
    CLI version) is read too: the spans are those of the same session read from the start."""
    big = {"type": "function_call_output", "call_id": "c-big", "output": "y" * 300_000}
    line = {"timestamp": "2026-11-23T22:00:24.300Z", "type": "response_item", "payload": big}

    def spans_with(filler: int) -> dict[int, dict]:
        monkeypatch.setenv("STASO_HOME", str(tmp_path / f"staso-{filler}"))
        home = tmp_path / "codex"
        path, _head, tail = long_session(home, filler)
        opening = tail.index(b"\n", tail.index(b'"task_started"')) + 1
        tail = tail[:opening] + json.dumps(line).encode() + b"\n" + tail[opening:]
        with open(path, "ab") as fh:
            fh.write(tail)
        _turn1, turn2 = _events(home)
        return as_dicts(process([_record(turn2)])[0])

    expected = spans_with(0)
    got = spans_with(FILLER)
    assert "execute_tool exec_command" in {s["name"] for s in got.values()}
    assert got == expected


def test_rollout_timestamps_parse_to_ns() -> None:
    assert transcript.parse_ts("2026-11-23T22:00:21.023Z") == ts_ns("2026-11-23T22:00:21.023Z")
    assert transcript.parse_ts("garbage") is None


def test_late_event_of_an_interrupted_turn_opens_nothing(tmp_path: Path) -> None:
    records = record_all("interrupt", tmp_path / "codex")
    spans, state = process([records])
    pre = next(r for r in records if r.payload["hook_event_name"] == "PreToolUse")
    late = Record(
        "codex",
        records[-1].received_ns + 1,
        {**pre.payload, "hook_event_name": "PostToolUse", "tool_response": "woke\n"},
    )
    assert CODEX.process(state, [late], Context(now_ns=0)) == []
    assert state["turns"] == {}
    assert CODEX.expire(state, Context(now_ns=0)) == []
    assert len([s for s in spans if s.parent_span_id is None]) == 1


def _ev(t: int, kind: str, **fields: Any) -> Record:
    return Record("codex", t, {"session_id": "s-v2", "hook_event_name": kind, **fields})


def test_v2_subagents_hang_under_their_own_spawn_calls() -> None:
    main = {"turn_id": "main"}
    records = [
        _ev(1, "UserPromptSubmit", prompt="fan out", **main),
        *(
            _ev(
                t,
                hook,
                tool_name="collaborationspawn_agent",
                tool_use_id=call,
                tool_input={"task_name": name, "message": "go"},
                tool_response=json.dumps({"task_name": name}),
                **main,
            )
            for t, call, name in ((2, "c1", "/root/a"), (4, "c2", "/root/b"))
            for hook in ("PreToolUse", "PostToolUse")
        ),
        _ev(5, "SubagentStart", turn_id="sa", agent_id="A", agent_type="worker"),
        _ev(6, "SubagentStart", turn_id="sb", agent_id="B", agent_type="worker"),
        _ev(
            7,
            "PreToolUse",
            turn_id="sb",
            agent_id="B",
            tool_name="Bash",
            tool_use_id="x",
            tool_input={"command": "true"},
        ),
        _ev(
            8,
            "PostToolUse",
            turn_id="sb",
            agent_id="B",
            tool_name="Bash",
            tool_use_id="x",
            tool_response="",
        ),
        _ev(9, "SubagentStop", turn_id="sa", agent_id="A", agent_type="worker"),
        _ev(10, "SubagentStop", turn_id="sb", agent_id="B", agent_type="worker"),
        _ev(11, "Stop", last_assistant_message="done", **main),
    ]
    spans, _ = process([records])
    by_call = {s.attributes.get(sc.GEN_AI_TOOL_CALL_ID): s for s in spans}
    subs = {s.attributes[sc.GEN_AI_AGENT_ID]: s for s in spans if s.name == "invoke_agent worker"}
    assert subs["A"].parent_span_id == by_call["c1"].span_id
    assert subs["B"].parent_span_id == by_call["c2"].span_id
    assert by_call["x"].parent_span_id == subs["B"].span_id
    assert len({s.trace_id for s in spans}) == 1
    assert by_call["c1"].attributes[sc.STASO_AGENT_TASK_NAME] == "/root/a"


def test_subagent_without_an_open_turn_is_a_root_not_an_orphan() -> None:
    records = [
        _ev(1, "SubagentStart", turn_id="sa", agent_id="A", agent_type="worker"),
        _ev(
            2,
            "SubagentStop",
            turn_id="sa",
            agent_id="A",
            agent_type="worker",
            last_assistant_message="ok",
        ),
    ]
    spans, _ = process([records])
    (sub,) = spans
    assert sub.name == "invoke_agent worker" and sub.parent_span_id is None
    assert sub.attributes[sc.OUTPUT_VALUE] == "ok"


def _edited_fixture(tmp_path: Path, edit) -> Path:
    """A copy of tour_resume whose rollout lines pass through `edit` (None drops a line)."""
    import shutil

    copy = tmp_path / "fixture"
    shutil.copytree(FIXTURES_CODEX / "tour_resume", copy)
    (rollout,) = (copy / "sessions").rglob("*.jsonl")
    lines = [edit(json.loads(raw)) for raw in rollout.read_text().splitlines()]
    rollout.write_text("".join(json.dumps(x) + "\n" for x in lines if x is not None))
    return copy


def _chats(spans: list[SpanData]) -> list[SpanData]:
    return sorted((s for s in spans if s.name.startswith("chat ")), key=lambda s: s.start_ns)


def test_missing_usage_record_does_not_shift_response_ids(tmp_path: Path) -> None:
    from replay import replay

    def drop_first(line: dict) -> dict | None:
        is_first = line["payload"].get("response_id") == "resp_0004"
        return None if line["type"] == "token_usage_record" and is_first else line

    spans = replay(_edited_fixture(tmp_path, drop_first), tmp_path / "codex").spans
    chats = _chats(spans)[:6]
    ids_ = [c.attributes.get(sc.GEN_AI_RESPONSE_ID) for c in chats]
    assert ids_ == [None, "resp_0007", "resp_0010", "resp_0013", "resp_0016", "resp_0018"]
    assert chats[0].attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 1000  # from the hook


def test_usage_that_never_matches_is_not_counted_twice(tmp_path: Path) -> None:
    from replay import replay

    def skew(line: dict) -> dict:
        if line["type"] == "token_usage_record":
            line["payload"]["usage"]["total_tokens"] += 1
        return line

    spans = replay(_edited_fixture(tmp_path, skew), tmp_path / "codex").spans
    chats = _chats(spans)
    assert len(chats) == 8  # one per model hook, no extra transcript-only calls
    assert chats[0].attributes[sc.GEN_AI_RESPONSE_ID] == "resp_0004"  # paired in order
    assert chats[0].attributes[sc.LLM_TOKEN_COUNT_TOTAL] == 1050  # the hook's counts
