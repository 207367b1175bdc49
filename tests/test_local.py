"""Local debugging: the embedded collector, the store, the viewer and `staso demo`."""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import tempfile
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from pipeline_helpers import record_fixture, run_staso
from rich.console import Console
from staso_cli.main import cli

from staso_otel import paths, settings
from staso_otel.local import replay, viewer
from staso_otel.local.collector import Collector
from staso_otel.local.store import Store
from staso_otel.pipeline import worker

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOTS = Path(__file__).parent / "snapshots"


@pytest.fixture
def collector(tmp_path):
    turns = []
    col = Collector(Store(tmp_path / "store.sqlite"), port=0, on_turn=turns.append).start()
    col.turns = turns
    yield col
    col.stop()


def post(col: Collector, body: bytes, ctype: str, encoding: str | None = None) -> int:
    headers = {"Content-Type": ctype}
    if encoding:
        headers["Content-Encoding"] = encoding
    request = urllib.request.Request(col.endpoint, data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code


def test_accepts_what_the_sdk_exporter_sends(collector):
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=collector.endpoint)))
    tracer = provider.get_tracer("t")
    with (
        tracer.start_as_current_span("root", attributes={"session.id": "s"}),
        tracer.start_as_current_span("child"),
    ):
        pass
    provider.shutdown()
    assert collector.store.count() == 2
    [trace_id] = collector.store.trace_ids()
    spans = {s["name"]: s for s in collector.store.trace(trace_id)}
    assert set(spans) == {"root", "child"}
    # both may start in the same clock tick: the tree, not the order, is what is stored
    assert spans["child"]["parent_span_id"] == spans["root"]["span_id"]
    assert spans["root"]["parent_span_id"] is None
    assert [t["name"] for t in collector.turns] == ["root"]


OTLP_JSON = {
    "resourceSpans": [
        {
            "resource": {
                "attributes": [{"key": "service.name", "value": {"stringValue": "js-agent"}}]
            },
            "scopeSpans": [
                {
                    "scope": {"name": "other-sdk"},
                    "spans": [
                        {
                            "traceId": "5b8efff798038103d269b633813fc60c",
                            "spanId": "eee19b7ec3c1b174",
                            "name": "chat gpt-x",
                            "kind": 3,
                            "startTimeUnixNano": "1700000000000000000",
                            "endTimeUnixNano": "1700000001000000000",
                            "attributes": [
                                {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "42"}},
                                {"key": "session.id", "value": {"stringValue": "js-1"}},
                                {
                                    "key": "tags",
                                    "value": {"arrayValue": {"values": [{"stringValue": "a"}]}},
                                },
                            ],
                            "status": {"code": "STATUS_CODE_ERROR", "message": "boom"},
                        }
                    ],
                }
            ],
        }
    ]
}


def test_accepts_otlp_json_with_hex_ids_plain_and_gzipped(collector):
    body = json.dumps(OTLP_JSON).encode()
    assert post(collector, body, "application/json") == 200
    assert post(collector, gzip.compress(body), "application/json", "gzip") == 200
    assert collector.store.count() == 1  # same ids twice: stored once
    [span] = collector.store.trace("5b8efff798038103d269b633813fc60c")
    assert span["kind"] == "CLIENT" and span["status"] == "ERROR"
    assert span["attributes"]["gen_ai.usage.input_tokens"] == 42
    assert span["attributes"]["tags"] == ["a"] and span["resource"]["service.name"] == "js-agent"
    assert collector.store.sessions()[0]["session_id"] == "js-1"


@pytest.mark.parametrize(
    "body,ctype",
    [
        (b"\x00\xffgarbage", "application/x-protobuf"),
        (b"{not json", "application/json"),
        (
            json.dumps(
                {"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "xyz"}]}]}]}
            ).encode(),
            "application/json",
        ),
    ],
)
def test_garbage_gets_400_and_the_collector_keeps_running(collector, body, ctype):
    assert post(collector, body, ctype) == 400
    assert post(collector, json.dumps(OTLP_JSON).encode(), "application/json") == 200


def _viewer_text(collector) -> str:
    """Every trace in the collector's store as the viewer prints it, 100 columns, no colour."""
    with open(os.devnull, "w") as sink:
        console = Console(width=100, no_color=True, record=True, file=sink)
        viewer.render(console, [collector.store.trace(t) for t in collector.store.trace_ids()])
        return console.export_text()


def _matches_snapshot(text: str, name: str) -> None:
    """`text` is tests/snapshots/<name> to the letter (STASO_UPDATE_SNAPSHOTS=1 rewrites it)."""
    snapshot = SNAPSHOTS / name
    if os.environ.get("STASO_UPDATE_SNAPSHOTS"):
        snapshot.parent.mkdir(exist_ok=True)
        snapshot.write_text(text)
    assert text == snapshot.read_text()


def test_pipeline_into_the_collector_and_the_viewer_snapshot(collector, isolated_homes):
    record_fixture("tour_resume", isolated_homes["codex"], now_ns=1_800_000_000_000_000_000)
    report = worker.drain(settings=settings.load(overrides={"endpoint": collector.endpoint}))
    assert collector.received == report.spans_sent == 16
    text = _viewer_text(collector)
    for expected in (
        "$ echo hi",
        "[exit 0]",
        "[exit 3]",
        "+hello again from apply_patch",
        "✓ run echo",
        "turn 2",
        "7500 in, 1280 cached / 315 out tokens",
    ):
        assert expected in text
    _matches_snapshot(text, "tour_resume.txt")


def test_claude_code_sessions_in_the_collector_and_the_viewer_snapshot(collector):
    # a home path of fixed length: the viewer cuts long arguments, so the cut must not move
    tmp_path = Path(tempfile.mkdtemp(prefix="staso-snap-", dir="/tmp"))
    for n, run in enumerate(("tour_resume", "agent")):
        recording = replay.DEMO_ROOT / "claude_code" / run
        replay.replay(
            recording, tmp_path / f"h{n}", target="claude-code", now_ns=1_800_000_000 * 10**9
        )
    report = worker.drain(settings=settings.load(overrides={"endpoint": collector.endpoint}))
    assert collector.received == report.spans_sent == collector.store.count()
    text = _viewer_text(collector).replace(str(tmp_path), "<tmp>")
    shutil.rmtree(tmp_path, ignore_errors=True)
    for expected in (
        "invoke_agent claude-code  turn 3",
        "$ echo oops >&2; exit 3",
        "[exit 3]",
        "+hello world",
        "invoke_agent general-purpose",
        "$ echo from-sub",
    ):
        assert expected in text
    _matches_snapshot(text, "claude_code.txt")


def test_traces_command_renders_and_filters(isolated_homes):
    col = Collector(Store(paths.store_file()), port=0).start()
    try:
        record_fixture("hello", isolated_homes["codex"])
        worker.drain(settings=settings.load(overrides={"endpoint": col.endpoint}))
    finally:
        col.stop()
    result = CliRunner().invoke(cli, ["traces", "--last", "1"])
    assert result.exit_code == 0 and "invoke_agent codex" in result.output
    as_json = CliRunner().invoke(cli, ["traces", "--json"])
    [line] = as_json.output.splitlines()
    assert {s["name"] for s in json.loads(line)} == {"invoke_agent codex", "chat gpt-6.1-sol"}
    missing = CliRunner().invoke(cli, ["traces", "--session", "nope"])
    assert missing.exit_code == 1 and "no traces match" in missing.output


def test_traces_without_a_store_says_what_to_do(isolated_homes):
    result = CliRunner().invoke(cli, ["traces"])
    assert result.exit_code == 1 and "staso demo" in result.output


def test_demo_in_a_fresh_home(isolated_homes):
    result = CliRunner().invoke(cli, ["demo"])
    assert result.exit_code == 0, result.output
    live = int(re.search(r"exported (\d+) spans over OTLP/HTTP", result.output)[1])
    imported = re.search(
        r"`staso import` read 3 sessions' transcripts: sent (\d+) spans .*; (\d+) turns and "
        r"sub-agent runs traced live above were exported already and not sent again",
        result.output,
    )
    assert imported, result.output
    sent = live + int(imported[1])
    assert int(imported[1]) > 0 and int(imported[2]) > 0  # the hookless one; the live ones
    assert Store(paths.store_file()).count() == sent
    assert "$ cat hello.txt; exit 3" in result.output  # Codex
    for claude in ("invoke_agent claude-code", "$ echo oops >&2; exit 3", "[exit 3]", "oops"):
        assert claude in result.output
    assert "invoke_agent general-purpose" in result.output  # a background sub-agent, imported
    spans = [
        s
        for t in Store(paths.store_file()).trace_ids(last=None)
        for s in Store(paths.store_file()).trace(t)
    ]
    by_target = Counter(s["attributes"]["staso.target"] for s in spans)
    assert by_target["codex"] == 16 and by_target["claude-code"] == sent - 16
    assert sum(1 for s in spans if s["attributes"].get("staso.imported")) == int(imported[1])
    assert not paths.journal_dir().exists()  # the demo used a scratch home


def test_demo_as_a_subprocess_with_a_configured_endpoint_never_sends_there(tmp_path, receiver):
    env = {
        **os.environ,
        "STASO_HOME": str(tmp_path / "fresh"),
        "NO_COLOR": "1",
        "STASO_ENDPOINT": receiver.endpoint,
    }
    proc = run_staso("demo", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "invoke_agent codex" in proc.stdout and "\x1b[" not in proc.stdout
    assert receiver.spans == []
