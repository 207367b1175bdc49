"""The hook as Codex runs it: a subprocess fed one event; stdout empty, exit 0, always."""

from __future__ import annotations

import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from staso_otel import paths
from staso_otel import settings as staso_settings
from staso_otel.hook.main import leading_session_id
from staso_otel.pipeline import worker
from staso_otel.record import journal
from staso_otel.targets import hookfile

FIXTURES = Path(__file__).parent / "fixtures"


def run_hook(data: bytes, *, target: str = "codex", env: dict | None = None):
    """The hook exactly as `staso setup` writes it, run the way both agents run hooks."""
    command = hookfile.hook_command(target)
    environ = {**os.environ, "STASO_NO_WORKER": "1", **(env or {})}
    environ.pop("STASO_RAISE_INTERNAL", None)  # as in production: never fail the agent
    return subprocess.run(
        ["/bin/bash", "-c", command], input=data, env=environ, capture_output=True, timeout=60
    )


def records(session: str = "s1") -> list[journal.Record]:
    return list(journal.read(journal.journal_path("codex", session)))


def test_event_is_recorded_with_its_receipt_time():
    payload = {"session_id": "s1", "hook_event_name": "Stop", "turn_id": "t1"}
    proc = run_hook(json.dumps(payload, indent=2).encode())  # pretty JSON: newlines folded
    assert proc.returncode == 0 and proc.stdout == b"" and proc.stderr == b""
    [record] = records()
    assert record.payload == payload and record.target == "codex"
    assert record.received_ns > 1_700_000_000 * 10**9
    mode = journal.journal_path("codex", "s1").stat().st_mode & 0o777
    assert mode == 0o600
    assert paths.journal_dir().stat().st_mode & 0o777 == 0o700


def test_garbage_empty_and_unknown_target_exit_0_and_go_to_quarantine():
    for data in (b"", b"not json", b"[1,2]", b'{"no_session": 1}', b"\xff\xfe\x00"):
        proc = run_hook(data)
        assert (proc.returncode, proc.stdout) == (0, b"")
    assert run_hook(b'{"session_id":"x"}', target="nope").returncode == 0
    lines = (paths.quarantine_dir() / "events.jsonl").read_text().splitlines()
    reasons = [json.loads(line)["reason"] for line in lines]
    assert len(reasons) == 6 and any("unknown target" in r for r in reasons)
    assert not journal.journal_path("codex", "x").exists()


def test_huge_event_is_recorded_whole():
    payload = {
        "session_id": "big",
        "hook_event_name": "PostToolUse",
        "tool_response": "x" * (8 * 1024 * 1024),
    }
    proc = run_hook(json.dumps(payload).encode())
    assert (proc.returncode, proc.stdout) == (0, b"")
    [record] = records("big")
    assert len(record.payload["tool_response"]) == 8 * 1024 * 1024


def test_unwritable_home_still_exits_0(tmp_path: Path):
    blocked = tmp_path / "file-not-dir"
    blocked.write_text("")
    proc = run_hook(b'{"session_id":"s"}', env={"STASO_HOME": str(blocked)})
    assert (proc.returncode, proc.stdout) == (0, b"")


def test_session_ids_cannot_escape_the_journal_folder():
    for session in ("../../etc/passwd", "a/b", ".hidden", "x" * 500):
        path = journal.journal_path("codex", session)
        assert path.parent == paths.journal_dir() / "codex"
        assert "/" not in path.name and not path.name.startswith(".")


def test_symlinked_journal_is_refused(tmp_path: Path):
    target = tmp_path / "elsewhere"
    target.write_text("")
    path = journal.journal_path("codex", "s1")
    path.parent.mkdir(parents=True)
    path.symlink_to(target)
    proc = run_hook(b'{"session_id":"s1"}')
    assert (proc.returncode, proc.stdout) == (0, b"")
    assert target.read_text() == ""  # nothing written through the link


def test_16_concurrent_writers_lose_no_record():
    def one(n: int) -> int:
        payload = {
            "session_id": "shared",
            "hook_event_name": "PreToolUse",
            "n": n,
            "pad": "y" * 20000,
        }
        return run_hook(json.dumps(payload).encode()).returncode

    with ThreadPoolExecutor(max_workers=16) as pool:
        codes = list(pool.map(one, range(16)))
    assert codes == [0] * 16
    got = sorted(r.payload["n"] for r in records("shared"))
    assert got == list(range(16))


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.one_of(
        st.binary(max_size=2000),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=50),
            lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
            max_leaves=20,
        ).map(lambda v: json.dumps(v).encode()),
        st.fixed_dictionaries(
            {
                "session_id": st.text(min_size=1, max_size=40),
                "hook_event_name": st.text(max_size=20),
            }
        ).map(lambda v: json.dumps(v).encode()),
    )
)
def test_fuzzed_input_never_disturbs_the_agent(data: bytes):
    proc = run_hook(data)
    assert proc.returncode == 0
    assert proc.stdout == b""


def test_every_recorded_event_names_its_session_without_a_parser():
    """Both agents send session_id first: the hook reads it without importing json."""
    payloads = [
        json.loads(line)["payload"]
        for path in sorted(FIXTURES.glob("*/*/hooks.jsonl"))
        for line in path.read_text().splitlines()
        if line.strip()
    ]
    assert len(payloads) > 200  # every recorded session of both agents
    for payload in payloads:
        compact = json.dumps(payload, separators=(",", ":")).encode()
        spaced = json.dumps(payload).encode() + b"\n"  # Claude Code ends with a newline
        assert leading_session_id(compact) == leading_session_id(spaced) == payload["session_id"]


def test_an_event_in_another_shape_takes_the_slow_path_to_the_same_journal():
    events = [
        b'{"tool_input": {"session_id": "other"}, "session_id": "s1"}',  # nested value first
        b'{"session_id": "s\\u0031"}',  # an escape: "s1" once decoded
        b'{"note": "say \\"hi\\"", "session_id": "s1"}',  # an escaped quote before it
        b'{"kind": "sampling", "attempt_number": 1, "session_id": "s1"}',  # Codex 0.171
        b'{"session_id": "s1", "hook_event_name": "Stop"}',
    ]
    assert [leading_session_id(e) for e in events] == [None, None, None, "s1", "s1"]
    for event in events:
        assert run_hook(event).returncode == 0
    assert [r.payload["session_id"] for r in records("s1")] == ["s1"] * len(events)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(st.text(max_size=12), json_values, max_size=6),
    st.text(min_size=1, max_size=40),
    st.integers(min_value=0, max_value=6),
    st.booleans(),
)
def test_the_session_id_read_without_a_parser_is_never_wrong(
    others: dict, session_id: str, at: int, compact: bool
):
    """Whatever comes before it, the fast read gives json's answer or none at all."""
    items = [(k, v) for k, v in others.items() if k != "session_id"]
    items.insert(min(at, len(items)), ("session_id", session_id))
    separators = (",", ":") if compact else (", ", ": ")
    raw = json.dumps(dict(items), separators=separators, ensure_ascii=False).encode()
    assert leading_session_id(raw) in (None, json.loads(raw)["session_id"])


def test_garbage_after_a_plain_session_id_is_quarantined_by_the_worker():
    """The hook no longer parses an event that starts like one; the worker does, and keeps
    what is not JSON in quarantine instead of the session."""
    broken = b'{"session_id":"s1","hook_event_name":"Stop", oops'
    proc = run_hook(broken)
    assert (proc.returncode, proc.stdout) == (0, b"")
    report = worker.drain(
        settings=staso_settings.load(overrides={"endpoint": "http://127.0.0.1:9"})
    )
    assert report.records == 0
    [entry] = [
        json.loads(line)
        for line in (paths.quarantine_dir() / "events.jsonl").read_text().splitlines()
    ]
    assert "oops" in entry["raw"] and entry["reason"].startswith("corrupt journal line")
