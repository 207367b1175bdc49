"""Interop with a real backend: staso's spans as Arize Phoenix reads them.

A recorded Codex session and a Claude Code session with a background sub-agent go
through the real hook runtime and worker into `phoenix serve` (its own venv, loopback
only, telemetry off), and are read back through Phoenix's REST API: span kinds, the
project, sessions with their token counts, tool input and output, nesting. The expected
values come from the same recordings exported to the test's own OTLP receiver.
"""

from __future__ import annotations

import os
import time
import urllib.error
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from phoenix_env import Phoenix
from pipeline_helpers import BACKEND_RECORDINGS, record_backend_sessions

from staso_otel import settings
from staso_otel.pipeline import worker

pytestmark = pytest.mark.e2e

PROJECT = "staso-phoenix-e2e"
# USD per million tokens for the recordings' mock models, for a Phoenix whose own price
# table has none: cache reads and writes at their own rates
PRICES = {"input": 5.0, "cache_read": 0.5, "cache_write": 6.25, "output": 25.0}
MODELS = [("gpt-6.1-sol", "openai"), ("claude-opus-5-5", "anthropic")]


@pytest.fixture(scope="module")
def phoenix():
    server = Phoenix().start()
    yield server
    server.stop()


def export(tmp: Path, endpoint: str, now_ns: int, monkeypatch: pytest.MonkeyPatch) -> int:
    """Replay both recordings into a fresh STASO_HOME and drain it to `endpoint`."""
    record_backend_sessions(tmp, now_ns, monkeypatch)
    conf = settings.load(
        overrides={"endpoint": endpoint, "project_name": PROJECT, "export_timeout": 60.0}
    )
    report = worker.drain(settings=conf)
    assert report.spans_left == 0 and not report.errors, report
    return report.spans_sent


def phoenix_spans(phoenix: Phoenix, expected: int) -> list[dict]:
    """Phoenix ingests asynchronously (the project appears with its first span): poll,
    bounded, until every span is there."""
    deadline = time.monotonic() + 120
    spans: list[dict] = []
    while time.monotonic() < deadline:
        try:
            spans = phoenix.get(f"/v1/projects/{PROJECT}/spans?limit=1000")["data"]
        except urllib.error.HTTPError as exc:
            if exc.code != 404:  # 404: the project does not exist yet
                raise
        if len(spans) >= expected:
            break
        time.sleep(0.5)
    return spans


def test_phoenix_shows_agent_llm_and_tool_spans_sessions_tokens_and_tool_io(
    phoenix, receiver, tmp_path, monkeypatch
):
    now = time.time_ns()
    for model, provider in MODELS:  # before the spans arrive: Phoenix prices on ingest
        phoenix.price_model(model, provider, PRICES)
    sent = export(tmp_path / "a", phoenix.endpoint, now, monkeypatch)
    assert export(tmp_path / "b", receiver.endpoint, now, monkeypatch) == sent
    ours = {s["span_id"]: s for s in receiver.spans}

    spans = phoenix_spans(phoenix, sent)
    assert PROJECT in {p["name"] for p in phoenix.get("/v1/projects")["data"]}
    assert len(spans) == sent
    by_id = {s["context"]["span_id"]: s for s in spans}
    assert set(by_id) == set(ours)

    # span kinds as Phoenix shows them: AGENT, LLM, TOOL, from openinference.span.kind
    kinds = Counter(s["span_kind"] for s in spans)
    assert set(kinds) == {"AGENT", "LLM", "TOOL"}
    for span_id, span in by_id.items():
        assert span["span_kind"] == ours[span_id]["attributes"]["openinference.span.kind"]
        assert span["name"] == ours[span_id]["name"]
        assert span["parent_id"] == ours[span_id]["parent_span_id"]

    # sessions: one per recording, with Phoenix's own token sums equal to our LLM spans'
    sessions = {s["session_id"]: s for s in phoenix.get(f"/v1/projects/{PROJECT}/sessions")["data"]}
    expected_tokens: dict[str, Counter] = defaultdict(Counter)
    roots: dict[str, set] = defaultdict(set)
    for s in ours.values():
        a = s["attributes"]
        if a["openinference.span.kind"] == "LLM":
            expected_tokens[a["session.id"]]["prompt"] += a["llm.token_count.prompt"]
            expected_tokens[a["session.id"]]["completion"] += a["llm.token_count.completion"]
        if s["parent_span_id"] is None:
            roots[a["session.id"]].add(s["trace_id"])
    assert set(sessions) == set(expected_tokens) and len(sessions) == len(BACKEND_RECORDINGS)
    for session_id, session in sessions.items():
        assert session["token_count_prompt"] == expected_tokens[session_id]["prompt"]
        assert session["token_count_completion"] == expected_tokens[session_id]["completion"]
        assert {t["trace_id"] for t in session["traces"]} == roots[session_id]

    # tool input and output as Phoenix stores them
    def tool(name: str, needle: str) -> dict:
        return next(
            s
            for s in spans
            if s["name"] == name and needle in s["attributes"].get("input.value", "")
        )

    echo = tool("execute_tool exec_command", "echo hi")
    assert echo["attributes"]["output.value"].strip().endswith("hi")
    assert echo["attributes"]["staso.shell.exit_code"] == 0
    failed = tool("execute_tool exec_command", "exit 3")
    assert failed["status_code"] == "ERROR"
    sub_bash = tool("execute_tool Bash", "echo from-sub")
    assert "from-sub" in sub_bash["attributes"]["output.value"]
    sub = by_id[sub_bash["parent_id"]]
    assert sub["name"] == "invoke_agent general-purpose" and sub["span_kind"] == "AGENT"
    assert by_id[sub["parent_id"]]["name"] == "execute_tool Agent"
    llm = next(s for s in spans if s["span_kind"] == "LLM")
    assert llm["attributes"]["llm.model_name"]

    # every model call shows, as chat messages, what it was sent and what it answered,
    # and its cache reads beside the prompt tokens
    for span in (s for s in spans if s["span_kind"] == "LLM"):
        a, mine = span["attributes"], ours[span["context"]["span_id"]]["attributes"]
        assert a["llm.input_messages.0.message.role"] in ("system", "user", "tool"), span
        assert a["llm.output_messages.0.message.role"] == "assistant", span
        assert (
            a["llm.token_count.prompt_details.cache_read"]
            == (mine["llm.token_count.prompt_details.cache_read"])
        )
        if a["llm.input_messages.0.message.role"] == "tool":
            assert a["llm.input_messages.0.message.tool_call_id"]

    # Phoenix's cost: the prompt split into uncached input, cache reads and cache writes,
    # each priced at its own rate (Phoenix's built-in price where it has one for the
    # model name, else the one priced above), never cached tokens as full input
    cached = [
        s
        for s in spans
        if s["span_kind"] == "LLM" and s["attributes"]["llm.token_count.prompt_details.cache_read"]
    ]
    assert cached
    for span in cached[:3]:
        mine = ours[span["context"]["span_id"]]["attributes"]
        read = mine["gen_ai.usage.cache_read.input_tokens"]
        write = mine["gen_ai.usage.cache_creation.input_tokens"]
        costs = phoenix.span_costs(span["id"])
        assert costs["input"][0] == mine["gen_ai.usage.input_tokens"] - read - write, costs
        assert costs["cache_read"][0] == read and costs["cache_write"][0] == write, costs
        reasoning = costs.get("reasoning", (0, 0.0))[0]  # Phoenix splits it off the output
        assert costs["output"][0] + reasoning == mine["gen_ai.usage.output_tokens"], costs
        assert reasoning == mine["gen_ai.usage.reasoning.output_tokens"], costs
        per_token = {kind: cost / tokens for kind, (tokens, cost) in costs.items() if tokens}
        assert per_token["input"] > 0 and per_token["output"] > 0, costs
        assert per_token["cache_read"] < per_token["input"], costs
    assert os.environ["STASO_HOME"].endswith("staso")  # the test never used the user's home
