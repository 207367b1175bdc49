"""Interop with a real backend: staso's spans as an MLflow tracking server reads them.

A recorded Codex session and a Claude Code session with a background sub-agent go through
the real hook runtime and worker into `mlflow server` (its own venv, loopback, SQLite), over
OTLP at `/v1/traces` with the experiment in `x-mlflow-experiment-id`, and are read back with
MLflow's own client: span types, sessions, each trace's token usage as MLflow adds it up,
and the messages of every model call. Expected values come from the same recordings sent to
the test's own OTLP receiver.
"""

from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path

import pytest
from mlflow_env import EXPERIMENT_HEADER, MLflow
from pipeline_helpers import BACKEND_RECORDINGS, record_backend_sessions

from staso_otel import settings
from staso_otel.pipeline import worker

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def mlflow():
    server = MLflow().start()
    yield server
    server.stop()


def export(tmp: Path, conf_overrides: dict, now_ns: int, monkeypatch: pytest.MonkeyPatch) -> int:
    """Replay both recordings into a fresh STASO_HOME and drain it (bounded retries: a
    busy server may answer a batch late, and the spool keeps it until it says yes)."""
    record_backend_sessions(tmp, now_ns, monkeypatch)
    conf = settings.load(overrides={"export_timeout": 60.0, **conf_overrides})
    sent = 0
    for _ in range(5):
        report = worker.drain(settings=conf)
        sent += report.spans_sent
        if report.spans_left == 0:
            break
    assert report.spans_left == 0, report
    return sent


def mlflow_traces(mlflow: MLflow, experiment: str, expected_traces: int) -> list[dict]:
    deadline = time.monotonic() + 120
    traces: list[dict] = []
    while time.monotonic() < deadline:
        traces = mlflow.traces(experiment)
        if len(traces) >= expected_traces:
            break
        time.sleep(1)
    return traces


def test_mlflow_shows_types_sessions_token_usage_and_messages(
    mlflow, receiver, tmp_path, monkeypatch
):
    now = time.time_ns()
    experiment = mlflow.experiment("staso-mlflow-e2e")
    headers = {EXPERIMENT_HEADER: experiment}
    export(tmp_path / "a", {"endpoint": mlflow.endpoint, "headers": headers}, now, monkeypatch)
    export(tmp_path / "b", {"endpoint": receiver.endpoint}, now, monkeypatch)
    ours = {s["span_id"]: s for s in receiver.spans}
    trace_ids = {s["trace_id"] for s in ours.values()}

    traces = mlflow_traces(mlflow, experiment, len(trace_ids))
    assert {t["trace_id"].removeprefix("tr-") for t in traces} == trace_ids
    spans = [s for t in traces for s in t["spans"]]
    assert {s["span_id"] for s in spans} == set(ours)

    # span types from openinference.span.kind; names and nesting as sent
    types = {"AGENT": "AGENT", "LLM": "LLM", "TOOL": "TOOL"}
    for span in spans:
        mine = ours[span["span_id"]]
        assert span["span_type"] == types[mine["attributes"]["openinference.span.kind"]]
        assert span["name"] == mine["name"]
        assert span["parent_id"] == mine["parent_span_id"]

    # every trace is in its agent session, with MLflow's usage equal to its model calls' sum
    expected: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    sessions: dict[str, str] = {}
    for s in ours.values():
        a = s["attributes"]
        sessions[s["trace_id"]] = a["session.id"]
        if a["openinference.span.kind"] == "LLM":
            usage = expected[s["trace_id"]]
            usage["input_tokens"] += a["gen_ai.usage.input_tokens"]
            usage["output_tokens"] += a["gen_ai.usage.output_tokens"]
            usage["cache_read_input_tokens"] += a["gen_ai.usage.cache_read.input_tokens"]
    assert len(set(sessions.values())) == len(BACKEND_RECORDINGS)
    for trace in traces:
        trace_id = trace["trace_id"].removeprefix("tr-")
        assert trace["metadata"]["mlflow.trace.session"] == sessions[trace_id]
        usage = trace["token_usage"]
        want = expected[trace_id]
        assert usage["input_tokens"] == want["input_tokens"], trace_id
        assert usage["output_tokens"] == want["output_tokens"], trace_id
        assert usage["cache_read_input_tokens"] == want["cache_read_input_tokens"], trace_id

    # every model call shows what went in and what came out, as chat messages
    llm = [s for s in spans if s["span_type"] == "LLM"]
    assert len(llm) == sum(
        1 for s in ours.values() if s["attributes"]["openinference.span.kind"] == "LLM"
    )
    for span in llm:
        assert isinstance(span["inputs"], list) and span["inputs"], span["name"]
        assert all(m["role"] in ("system", "user", "tool") for m in span["inputs"])
        out = span["outputs"]  # the answer's text, or its messages when it called tools
        assert out and (isinstance(out, str) or out[0]["role"] == "assistant"), span["name"]
    answered = [
        p for s in llm for m in s["inputs"] for p in m["parts"] if p["type"] == "tool_call_response"
    ]
    assert answered and all(p["id"] for p in answered)
    # a tool call shows its arguments and result; the sub-agent nests under its Agent call
    bash = next(s for s in spans if s["name"] == "execute_tool Bash" and "from-sub" in str(s))
    by_id = {s["span_id"]: s for s in spans}
    sub = by_id[bash["parent_id"]]
    assert sub["name"] == "invoke_agent general-purpose" and sub["span_type"] == "AGENT"
    assert by_id[sub["parent_id"]]["name"] == "execute_tool Agent"
