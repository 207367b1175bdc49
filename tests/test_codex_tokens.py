"""Token sums of the rebuilt model-call spans equal what Codex itself recorded: per turn
against the rollout, per session against the `codex exec --json` stream."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest
from replay import FIXTURES_CODEX, fixtures, replay

from staso_otel import semconv as sc
from staso_otel.span.model import SpanData

ALL = [p.name for p in fixtures()]
FIELDS = {
    "input_tokens": sc.GEN_AI_USAGE_INPUT_TOKENS,
    "cached_input_tokens": sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
    "output_tokens": sc.GEN_AI_USAGE_OUTPUT_TOKENS,
    "reasoning_output_tokens": sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
}


def rollout_turn_totals(fixture: Path) -> dict[str, dict[str, int]]:
    """{turn_id: usage} as the rollout states it: the last token_usage_record's
    turn_token_usage (0.169.0), or the rise of total_token_usage over the turn (legacy)."""
    totals: dict[str, dict[str, int]] = {}
    for path in sorted((fixture / "sessions").rglob("*.jsonl")):
        turn, before, last = None, None, None
        for raw in path.read_text().splitlines():
            line = json.loads(raw)
            p = line["payload"]
            if line["type"] == "token_usage_record":
                totals[p["turn_id"]] = {k: p["turn_token_usage"][k] for k in FIELDS}
            elif line["type"] == "event_msg" and p.get("type") == "task_started":
                turn, before = p["turn_id"], last
            elif (
                line["type"] == "event_msg"
                and p.get("type") == "token_count"
                and p.get("info")
                and "ordinal" not in line  # legacy rollouts only
            ):
                last = p["info"]["total_token_usage"]
                base = before or dict.fromkeys(FIELDS, 0)
                totals[turn] = {k: last[k] - base[k] for k in FIELDS}
    return totals


def span_turn_totals(spans: list[SpanData]) -> dict[str, dict[str, int]]:
    totals: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(FIELDS, 0))
    for span in spans:
        if span.name.startswith("chat "):
            turn = span.attributes[sc.CODEX_TURN_ID]
            for field, key in FIELDS.items():
                totals[turn][field] += span.attributes.get(key, 0)
    return dict(totals)


def exec_stream_total(fixture: Path) -> dict[str, int] | None:
    """The last `turn.completed` usage of the last exec stream: the thread's cumulative
    usage (main agent only), or None when no turn completed."""
    usage = None
    for path in sorted(fixture.glob("exec_*.jsonl")):
        for raw in path.read_text().splitlines():
            event = json.loads(raw)
            if event.get("type") == "turn.completed":
                usage = {k: event["usage"].get(k, 0) for k in FIELDS}
    return usage


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    def _run(name: str):
        monkeypatch.setenv("STASO_HOME", str(tmp_path / "staso"))
        return replay(FIXTURES_CODEX / name, tmp_path / "codex")

    return _run


@pytest.mark.parametrize("name", [n for n in ALL if (FIXTURES_CODEX / n / "sessions").is_dir()])
def test_per_turn_tokens_equal_the_rollout(run, name: str) -> None:
    spans = run(name).spans
    expected = rollout_turn_totals(FIXTURES_CODEX / name)
    got = span_turn_totals(spans)
    assert got  # every recorded run made at least one model call
    for turn_id, usage in got.items():
        if turn_id in expected:
            assert usage == expected[turn_id], turn_id
    # a turn the rollout counted tokens for has chat spans carrying them
    for turn_id, usage in expected.items():
        if any(usage.values()):
            assert got.get(turn_id) == usage, turn_id


COMPLETED = [n for n in ALL if exec_stream_total(FIXTURES_CODEX / n) is not None]


def test_most_runs_have_a_completed_turn() -> None:
    assert set(ALL) - set(COMPLETED) == {"interrupt", "model_error"}


@pytest.mark.parametrize("name", COMPLETED)
def test_session_tokens_equal_the_exec_stream(run, name: str) -> None:
    expected = exec_stream_total(FIXTURES_CODEX / name)
    spans = run(name).spans
    main = [s for s in spans if s.name.startswith("chat ") and s.attributes.get(
        sc.GEN_AI_AGENT_NAME) == "codex"]  # fmt: skip
    got = {f: sum(s.attributes.get(k, 0) for s in main) for f, k in FIELDS.items()}
    assert got == expected


@pytest.mark.parametrize("name", ALL)
def test_turn_totals_are_the_sum_of_its_model_calls(run, name: str) -> None:
    spans = run(name).spans
    by_parent: dict[int, list[SpanData]] = defaultdict(list)
    for span in spans:
        if span.name.startswith("chat "):
            by_parent[span.parent_span_id].append(span)
    for agent in (s for s in spans if s.name.startswith("invoke_agent ")):
        chats = by_parent[agent.span_id]
        a = agent.attributes
        assert a[sc.STASO_USAGE_MODEL_CALLS] == len(chats)
        assert a[sc.STASO_USAGE_INPUT_TOKENS] == sum(
            c.attributes.get(sc.GEN_AI_USAGE_INPUT_TOKENS, 0) for c in chats
        )
        assert a[sc.STASO_USAGE_OUTPUT_TOKENS] == sum(
            c.attributes.get(sc.GEN_AI_USAGE_OUTPUT_TOKENS, 0) for c in chats
        )
