"""Every Codex span says what really happened (issue 13): calls Codex refused, hooks that
never came, compaction requests of Codex 0.171, the order hooks are journaled in, and
releases newer than the ones recorded. Recordings: tests/fixtures/codex/ (README there)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from replay import FIXTURES_CODEX, fixtures, replay
from test_codex_incremental import as_dicts, process, record_all

from staso_otel import semconv as sc
from staso_otel.record.journal import Record
from staso_otel.span.model import SpanData

ALL = [p.name for p in fixtures()]
FILE_FACTS = (
    sc.STASO_FILE_DIFF,
    sc.STASO_FILE_LINES_ADDED,
    sc.STASO_FILE_LINES_REMOVED,
    sc.STASO_FILE_CHANGES,
)


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    counter = iter(range(1000))

    def _run(name: str, **kwargs):
        home = tmp_path / f"run{next(counter)}"
        monkeypatch.setenv("STASO_HOME", str(home / "staso"))
        return replay(FIXTURES_CODEX / name, home / "codex-home", **kwargs)

    return _run


def tool(spans: list[SpanData], name: str) -> SpanData:
    (span,) = [s for s in spans if s.name == f"execute_tool {name}"]
    return span


# --- calls that never ran -------------------------------------------------------------------


@pytest.mark.parametrize("worker", ["end", "prompt"])
def test_refused_and_blocked_calls_are_errors_that_never_ran(run, worker: str) -> None:
    """Codex 0.171.0, one turn: a JSON-wrapped apply_patch (Codex never answers it), an
    unknown freeform tool, an unknown function, a command a PreToolUse hook blocks."""
    spans = run("refuse-0.171.0", worker=worker).spans
    expected = {
        "apply_patch": "no_result",
        "no_such_custom_tool": "unsupported_call",
        "no_such_tool": "unsupported_call",
        "exec_command": "blocked",
    }
    for name, error_type in expected.items():
        span = tool(spans, name)
        assert span.status == sc.STATUS_ERROR, name
        assert span.attributes[sc.ERROR_TYPE] == error_type, name
        assert span.attributes[sc.STASO_TOOL_EXECUTED] is False, name
    assert tool(spans, "exec_command").attributes[sc.STASO_TOOL_BLOCKED] is True
    assert sc.STASO_SHELL_EXIT_CODE not in tool(spans, "exec_command").attributes
    patch = tool(spans, "apply_patch")
    assert not set(FILE_FACTS) & set(patch.attributes)  # nothing was applied
    assert "*** Add File: notes.txt" in patch.attributes[sc.GEN_AI_TOOL_CALL_ARGUMENTS]


def test_unsupported_freeform_apply_patch_claims_no_diff(run) -> None:
    """Codex 0.169.0 with a model whose tools lack apply_patch: `unsupported custom tool
    call: apply_patch` - the patch the model asked for is kept as arguments, nothing more."""
    patch = tool(run("refuse_patch-0.169.0").spans, "apply_patch")
    assert patch.status == sc.STATUS_ERROR
    assert patch.attributes[sc.ERROR_TYPE] == "unsupported_call"
    assert patch.attributes[sc.STASO_TOOL_EXECUTED] is False
    assert patch.status_description.startswith("unsupported custom tool call: apply_patch")
    assert not set(FILE_FACTS) & set(patch.attributes)
    assert "+first line" in patch.attributes[sc.GEN_AI_TOOL_CALL_ARGUMENTS]


def test_a_call_the_user_rejected_never_ran(run) -> None:
    """Codex 0.171.0 `--approve-for-me`, a command asking to leave the sandbox, and a
    PermissionRequest hook that says no: Codex answers `Rejected("...")` instead."""
    span = tool(run("reject-0.171.0").spans, "exec_command")
    assert span.status == sc.STATUS_ERROR
    assert span.attributes[sc.ERROR_TYPE] == "rejected"
    assert span.attributes[sc.STASO_TOOL_EXECUTED] is False
    assert span.attributes[sc.STASO_TOOL_PERMISSION_REQUESTED] is True
    assert "the user said no" in span.status_description


def test_a_patch_codex_could_not_verify_changed_nothing(run) -> None:
    """Codex 0.171.0: an Update of a file that is not there. Codex answers `apply_patch
    verification failed: ...` (no PostToolUse, no FileChange): ERROR, no diff, no counts."""
    patch = tool(run("badpatch-0.171.0").spans, "apply_patch")
    assert patch.status == sc.STATUS_ERROR
    assert patch.attributes[sc.ERROR_TYPE] == "verification_failed"
    assert patch.attributes[sc.STASO_TOOL_EXECUTED] is False
    assert not set(FILE_FACTS) & set(patch.attributes)
    assert "*** Update File: missing.txt" in patch.attributes[sc.GEN_AI_TOOL_CALL_ARGUMENTS]


def test_applied_patches_keep_their_diff(run) -> None:
    for name in ("tour_resume", "legacy-0.125.0"):
        spans = run(name).spans
        patches = [s for s in spans if s.name == "execute_tool apply_patch"]
        assert patches and all(s.attributes[sc.STASO_FILE_LINES_ADDED] > 0 for s in patches)
        assert all(sc.STASO_TOOL_EXECUTED not in s.attributes for s in patches)


def _without(records: list[Record], event: str) -> list[Record]:
    return [r for r in records if r.payload.get("hook_event_name") != event]


@pytest.mark.parametrize("name", ["tour_resume", "compact-0.171.0"])
def test_a_tool_without_post_tool_use_is_what_the_rollout_says(tmp_path: Path, name) -> None:
    """PreToolUse but no PostToolUse (a hook lost, or a tool that fires none): the rollout
    holds the output and exit code, so the span is that, not "did not complete"."""
    records = record_all(name, tmp_path / "codex")
    whole = as_dicts(process([records])[0])
    lost = as_dicts(process([_without(records, "PostToolUse")])[0])
    shells = [k for k, s in whole.items() if s["name"] == "execute_tool exec_command"]
    assert shells
    for key in shells:
        want, got = whole[key]["attributes"], lost[key]["attributes"]
        assert lost[key]["status"] == whole[key]["status"]
        assert got[sc.STASO_SHELL_EXIT_CODE] == want[sc.STASO_SHELL_EXIT_CODE]
        assert got.get(sc.ERROR_TYPE) == want.get(sc.ERROR_TYPE)
        assert got[sc.STASO_SHELL_STDOUT] == want[sc.STASO_SHELL_STDOUT]
    ok = [k for k in shells if whole[k]["attributes"][sc.STASO_SHELL_EXIT_CODE] == 0]
    assert ok and all(lost[k]["status"] != sc.STATUS_ERROR for k in ok)


# --- multi-agent v2 ---------------------------------------------------------------------------


@pytest.mark.parametrize("worker", ["end", "prompt"])
def test_v2_spawn_names_its_agent_and_the_agent_its_task(run, worker: str) -> None:
    """Multi-agent v2 answers spawn_agent with a task name only; the rollout's
    SubAgentActivity names the thread. The spawn span carries the agent id, the sub-agent
    span sits under that call and says what it was asked to do."""
    spans = run("spawn_v2-0.171.0", worker=worker).spans
    spawn = tool(spans, "spawn_agent")
    (agent,) = [s for s in spans if s.name == "invoke_agent default"]
    agent_id = agent.attributes[sc.GEN_AI_AGENT_ID]
    assert spawn.attributes[sc.STASO_AGENT_IDS] == (agent_id,)
    assert spawn.attributes[sc.CODEX_AGENT_PATH] == "/root/helper"
    assert agent.parent_span_id == spawn.span_id
    assert agent.attributes[sc.INPUT_VALUE] == "SCENARIO:sub run echo in the sub-agent"


# --- compaction requests of Codex 0.171 ------------------------------------------------------


@pytest.mark.parametrize("worker", ["end", "prompt"])
def test_compaction_request_is_one_chat_span_counted_once(run, worker: str) -> None:
    """0.171.0 fires Pre/PostModelRequest for the compaction request too (`kind`
    foreground_compaction, `response_id`): one chat span for it, its tokens counted once."""
    result = run("compact-0.171.0", worker=worker)
    chats = sorted(
        (s for s in result.spans if s.name.startswith("chat ")), key=lambda s: s.start_ns
    )
    kinds = [c.attributes[sc.CODEX_REQUEST_KIND] for c in chats]
    assert kinds == ["turn", "compaction", "turn", "turn"]
    ids = [c.attributes[sc.GEN_AI_RESPONSE_ID] for c in chats]
    assert ids == ["resp_0003", "resp_0005", "resp_0008", "resp_0010"]
    # the rollout's own per-response records are the truth for the totals
    rollout = next(iter(result.rollouts.values()))
    records = [json.loads(line) for line in rollout.read_text().splitlines()]
    usages = [r["payload"]["usage"] for r in records if r["type"] == "token_usage_record"]
    (root,) = [s for s in result.spans if s.parent_span_id is None]
    assert root.attributes[sc.STASO_USAGE_TOTAL_TOKENS] == sum(u["total_tokens"] for u in usages)
    assert root.attributes[sc.STASO_USAGE_INPUT_TOKENS] == sum(u["input_tokens"] for u in usages)
    assert root.attributes[sc.STASO_USAGE_MODEL_CALLS] == 4


def test_retried_request_pairs_by_request_id_and_attempt(tmp_path: Path) -> None:
    """A retry (attempt 2 of one request id) closes its own call, not the first attempt."""
    records = record_all("compact-0.171.0", tmp_path / "codex")
    pre = next(r for r in records if r.payload["hook_event_name"] == "PreModelRequest")
    post = next(r for r in records if r.payload["hook_event_name"] == "PostModelRequest")
    at = records.index(pre)
    failed = Record(
        "codex",
        pre.received_ns + 1,
        {**post.payload, "status": "failed", "error": "stream disconnected", "token_usage": None},
    )
    failed.payload.pop("response_id", None)
    retry = Record("codex", pre.received_ns + 2, {**pre.payload, "attempt_number": 2})
    spans, _ = process([[*records[: at + 1], failed, retry, *records[at + 1 :]]])
    chats = sorted((s for s in spans if s.name.startswith("chat ")), key=lambda s: s.start_ns)
    assert chats[0].status == sc.STATUS_ERROR
    assert chats[1].status != sc.STATUS_ERROR
    assert chats[1].attributes[sc.GEN_AI_RESPONSE_ID] == "resp_0003"
    assert chats[1].attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 200000


# --- order of arrival ------------------------------------------------------------------------


def _moved(records: list[Record], src: int, dst: int) -> list[Record]:
    out = list(records)
    out.insert(dst, out.pop(src))
    return out


def _late_session_starts(records: list[Record]) -> list[list[Record]]:
    """Each SessionStart journaled after 1..n of the events that follow it (async hooks)."""
    out = []
    for i, r in enumerate(records):
        if r.payload.get("hook_event_name") != "SessionStart":
            continue
        for j in range(i + 1, min(len(records), i + 6)):
            out.append(_moved(records, i, j))
    return out


@pytest.mark.parametrize("name", ALL)
def test_a_late_session_start_changes_nothing(tmp_path: Path, name: str) -> None:
    """With async hooks UserPromptSubmit can be journaled before SessionStart(startup):
    today's turn must not be closed at 0 ms as unfinished and its events dropped."""
    records = record_all(name, tmp_path / "codex")
    want = as_dicts(process([records])[0])
    for order in _late_session_starts(records):
        assert as_dicts(process([order])[0]) == want
        assert as_dicts(process([[r] for r in order])[0]) == want


CONCURRENT = {  # hooks Codex may have running at once, so either may be journaled first
    frozenset({"PostModelRequest", "PreToolUse"}),  # 0.171 starts tools mid-stream
    frozenset({"PreToolUse", "PostToolUse"}),  # two calls of one response (ids differ)
    frozenset({"PreToolUse"}),
    frozenset({"PostToolUse"}),
    frozenset({"SessionStart", "UserPromptSubmit"}),
    frozenset({"SessionStart", "PreModelRequest"}),
}


def _swappable(records: list[Record], i: int) -> bool:
    a, b = records[i].payload, records[i + 1].payload
    pair = frozenset({a.get("hook_event_name"), b.get("hook_event_name")})
    if pair not in CONCURRENT:
        return False
    same_call = a.get("tool_use_id") is not None and a.get("tool_use_id") == b.get("tool_use_id")
    return not same_call


SWAP_FIXTURES = [
    "tour_resume",
    "parallel",
    "compact-0.171.0",
    "refuse-0.171.0",
    "stop_block",
    "spawn_v2-0.171.0",
]


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(name=st.sampled_from(SWAP_FIXTURES), seed=st.integers(0, 2**32 - 1))
def test_any_plausible_interleaving_gives_the_same_spans(tmp_path_factory, name, seed) -> None:
    """Receipt times stay with their events; only the journal order changes, by swapping
    neighbours whose hooks Codex can run concurrently. Worker alongside (one record per
    batch) or behind (one batch), the spans are the same."""
    home = tmp_path_factory.mktemp("perm")
    import os

    os.environ["STASO_HOME"] = str(home / "staso")
    records = record_all(name, home / "codex")
    want = as_dicts(process([records])[0])
    rng = random.Random(seed)
    order = list(records)
    for _ in range(rng.randint(1, 8)):
        spots = [i for i in range(len(order) - 1) if _swappable(order, i)]
        if not spots:
            break
        i = rng.choice(spots)
        order[i], order[i + 1] = order[i + 1], order[i]
    assert as_dicts(process([order])[0]) == want
    assert as_dicts(process([[r] for r in order])[0]) == want


# --- nesting ---------------------------------------------------------------------------------


@pytest.mark.parametrize("worker", ["end", "prompt"])
@pytest.mark.parametrize("name", ALL)
def test_every_root_encloses_its_children(run, name: str, worker: str) -> None:
    """A turn's root spans everything in its trace (a sub-agent may outlive the spawn call
    that started it - that call returns at once - but not the turn)."""
    spans = run(name, worker=worker).spans
    roots = {s.trace_id: s for s in spans if s.parent_span_id is None}
    for span in spans:
        root = roots[span.trace_id]
        assert root.start_ns <= span.start_ns, (span.name, root.name)
        assert root.end_ns >= span.end_ns, (span.name, root.name)


def test_a_late_first_hook_still_encloses_the_turn(tmp_path: Path) -> None:
    """UserPromptSubmit received after the model request started (a slow hook): the root
    still starts no later than its first child."""
    records = record_all("hello", tmp_path / "codex")
    pre = next(r for r in records if r.payload["hook_event_name"] == "PreModelRequest")
    late = []
    for r in records:
        if r.payload["hook_event_name"] == "UserPromptSubmit":
            r = Record(r.target, pre.received_ns + 5_000_000, r.payload, r.offset, r.end)
        late.append(r)
    spans, _ = process([late])
    (root,) = [s for s in spans if s.parent_span_id is None]
    assert root.start_ns <= min(s.start_ns for s in spans)


# --- newer releases: unknown events and fields -----------------------------------------------


def _with_unknowns(records: list[Record]) -> list[Record]:
    out = []
    for i, r in enumerate(records):
        payload = dict(r.payload)
        payload["future_field"] = {"nested": [1, 2]}
        if "tool_input" in payload and isinstance(payload["tool_input"], dict):
            payload["tool_input"] = {**payload["tool_input"]}
        out.append(Record(r.target, r.received_ns, payload, r.offset, r.end))
        if i % 3 == 1:  # events a newer Codex may fire, with and without a turn id
            extra = {
                "session_id": payload["session_id"],
                "hook_event_name": "PostTurnSummary",
                "turn_id": payload.get("turn_id") or "not-a-turn",
                "transcript_path": payload.get("transcript_path"),
                "kind": "mystery",
            }
            out.append(Record(r.target, r.received_ns, extra, r.offset, r.end))
    return out


@pytest.mark.parametrize("name", ALL)
def test_unknown_events_and_fields_lose_nothing(tmp_path: Path, name: str) -> None:
    """A newer Codex with events and payload fields staso has never seen: the same spans,
    never a lost turn or a different one."""
    records = record_all(name, tmp_path / "codex")
    want = as_dicts(process([records])[0])
    assert as_dicts(process([_with_unknowns(records)])[0]) == want
    assert as_dicts(process([[r] for r in _with_unknowns(records)])[0]) == want


def _future_rollout(path: Path) -> None:
    """Unknown rollout line types and payload fields, as a newer release may write."""
    lines = []
    for raw in path.read_text().splitlines():
        line = json.loads(raw)
        if isinstance(line.get("payload"), dict):
            line["payload"]["future_field"] = [1]
        line["future_top"] = True
        lines.append(json.dumps(line))
        stamp = line.get("timestamp")
        lines.append(json.dumps({"timestamp": stamp, "type": "future_kind", "payload": {}}))
        lines.append(
            json.dumps(
                {"timestamp": stamp, "type": "event_msg", "payload": {"type": "future_event"}}
            )
        )
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("name", ["tour_resume", "compact-0.171.0", "refuse-0.171.0"])
def test_unknown_rollout_lines_lose_nothing(tmp_path: Path, name: str) -> None:
    records = record_all(name, tmp_path / "codex")
    want = as_dicts(process([records])[0])
    for path in (tmp_path / "codex" / "sessions").rglob("*.jsonl"):
        _future_rollout(path)
    assert as_dicts(process([records])[0]) == want
