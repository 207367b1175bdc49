"""The core pipeline against a real OTLP/HTTP receiver: nothing lost, nothing twice."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from otlp_receiver import Receiver
from pipeline_helpers import record_fixture, run_hook_process, run_staso
from staso_cli.main import cli

from staso_otel import paths, settings
from staso_otel.export.spool import Spool
from staso_otel.pipeline import worker
from staso_otel.record import state

TOUR_SPANS = 16  # tour_resume: 2 turns, their model calls and tool calls


def _ids(spans: list[dict]) -> Counter:
    return Counter((s["trace_id"], s["span_id"]) for s in spans)


def _settings(endpoint: str) -> settings.Settings:
    return settings.load(overrides={"endpoint": endpoint})


def test_drain_delivers_a_session_with_resource_and_parents(receiver: Receiver, isolated_homes):
    record_fixture("tour_resume", isolated_homes["codex"])
    report = worker.drain(settings=_settings(receiver.endpoint))
    assert report.records == 34
    assert report.spans_sent == TOUR_SPANS == len(receiver.spans)
    assert report.spans_left == 0
    ids = {s["span_id"] for s in receiver.spans}
    for span in receiver.spans:
        assert span["parent_span_id"] is None or span["parent_span_id"] in ids
        assert span["resource"]["service.name"] == "codex"
        assert span["resource"]["staso.workspace"] == "default"
        assert span["resource"]["deployment.environment.name"] == "development"
        assert span["end_ns"] >= span["start_ns"] > 0
    roots = [s for s in receiver.spans if s["parent_span_id"] is None]
    assert [
        r["attributes"]["codex.turn_number"] for r in sorted(roots, key=lambda r: r["start_ns"])
    ] == [1, 2]


def test_collector_down_then_up_flush_delivers_exactly_once(isolated_homes, fast_export):
    down = Receiver().start()
    port = down.port
    down.stop()  # nothing listens: connection refused
    endpoint = f"http://127.0.0.1:{port}/v1/traces"
    record_fixture("tour_resume", isolated_homes["codex"])
    report = worker.drain(settings=_settings(endpoint))
    assert report.spans_sent == 0
    assert report.spans_left == TOUR_SPANS
    assert Spool().usage()["spans"] == TOUR_SPANS

    up = Receiver().start(port=port)
    try:
        result = CliRunner().invoke(cli, ["flush"], env={"STASO_ENDPOINT": endpoint})
        assert result.exit_code == 0, result.output
        assert f"sent {TOUR_SPANS} spans" in result.output
        assert "spool empty" in result.output
        assert len(up.spans) == TOUR_SPANS
        assert max(_ids(up.spans).values()) == 1
        # a second flush sends nothing again
        again = CliRunner().invoke(cli, ["flush"], env={"STASO_ENDPOINT": endpoint})
        assert "sent 0 spans" in again.output
        assert len(up.spans) == TOUR_SPANS
    finally:
        up.stop()


def test_flush_as_a_subprocess(receiver: Receiver, isolated_homes):
    record_fixture("hello", isolated_homes["codex"])
    env = {**os.environ, "STASO_ENDPOINT": receiver.base_url}
    proc = run_staso("flush", env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("sent 2 spans")
    assert {s["name"] for s in receiver.spans} == {"invoke_agent codex", "chat gpt-6.1-sol"}


@pytest.mark.parametrize("failure", ["500", "429", "503"])
def test_transient_failures_are_retried_and_nothing_duplicates(
    isolated_homes, failure, fast_export
):
    answers = iter([int(failure)] * 2)
    rec = Receiver(mode=lambda n: next(answers, 200)).start()
    try:
        record_fixture("tour_resume", isolated_homes["codex"])
        deadline = time.monotonic() + 60
        sent = 0
        while time.monotonic() < deadline:
            report = worker.drain(settings=_settings(rec.endpoint))
            sent += report.spans_sent
            if report.spans_left == 0:
                break
        assert sent == TOUR_SPANS
        assert len(rec.spans) == TOUR_SPANS and max(_ids(rec.spans).values()) == 1
        assert len(rec.requests) >= 3  # the failures really happened
    finally:
        rec.stop()


def test_413_splits_the_batch(isolated_homes):
    # a limit every single span fits under (the largest carries a 16 KB-capped input)
    rec = Receiver(mode="413", max_body=40000).start()
    try:
        record_fixture("tour_resume", isolated_homes["codex"])
        report = worker.drain(settings=_settings(rec.endpoint))
        assert report.spans_sent == TOUR_SPANS and report.spans_left == 0
        assert len(rec.spans) == TOUR_SPANS
        sizes = [r["bytes"] for r in rec.requests]
        assert max(sizes) > 40000  # the first, whole batch was refused
        assert len(rec.requests) > 2
    finally:
        rec.stop()


def test_rejected_batch_is_parked_not_lost(isolated_homes):
    rec = Receiver(mode="401").start()
    try:
        record_fixture("hello", isolated_homes["codex"])
        report = worker.drain(settings=_settings(rec.endpoint))
        assert report.spans_sent == 0 and report.parked_spans == 2
        rec.mode = "ok"
        report = worker.drain(settings=_settings(rec.endpoint))  # flush retries parked
        assert report.spans_sent == 2 and report.parked_spans == 0
    finally:
        rec.stop()


def test_corrupt_spool_and_state_lines_are_skipped_with_a_log_line(receiver, isolated_homes):
    record_fixture("tour_resume", isolated_homes["codex"])
    worker.drain(settings=_settings(receiver.endpoint), send=False)
    batch = next(Spool().batches())
    lines = batch.read_bytes().splitlines()
    batch.write_bytes(b"\n".join([*lines[:2], b"{not json", *lines[2:]]) + b"\n")
    # a garbage line in the journal too: the records after it still count
    journal_file = next((paths.journal_dir() / "codex").glob("*.jsonl"))
    with open(journal_file, "ab") as fh:
        fh.write(b"\x00garbage\n")
    report = worker.drain(settings=_settings(receiver.endpoint))
    assert report.spans_sent == TOUR_SPANS and report.spans_left == 0
    log_text = (paths.logs_dir() / "staso.log").read_text()
    assert "skipped corrupt line" in log_text


def test_corrupt_state_restarts_the_session_without_duplicate_ids(receiver, isolated_homes):
    record_fixture("tour_resume", isolated_homes["codex"])
    worker.drain(settings=_settings(receiver.endpoint))
    for _, path in state.all_states():
        path.write_bytes(b"{corrupt")
    worker.drain(settings=_settings(receiver.endpoint))
    # re-processed from the start: same deterministic ids, so a backend de-duplicates
    assert set(_ids(receiver.spans)) == set(_ids(receiver.spans[:TOUR_SPANS]))
    assert "corrupt state" in (paths.logs_dir() / "staso.log").read_text()


def test_ids_are_stable_across_processes(tmp_path: Path):
    script = (
        "import json,sys; sys.path.insert(0, 'tests');"
        "from pipeline_helpers import record_fixture; from pathlib import Path;"
        "from staso_otel.pipeline import worker; from staso_otel import settings;"
        "from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter;"
        "home=Path(sys.argv[1]); (home/'codex').mkdir(parents=True);"
        "record_fixture('parallel', home/'codex', now_ns=1_800_000_000_000_000_000);"
        "exp=InMemorySpanExporter();"
        "worker.drain(settings=settings.load(overrides={'endpoint':'http://127.0.0.1:9/v1/traces'}),"
        " exporter=exp);"
        "spans=exp.get_finished_spans();"
        "print(json.dumps(sorted([s.context.trace_id, s.context.span_id] for s in spans)))"
    )
    outputs = []
    for n in range(2):
        home = tmp_path / f"run{n}"
        env = {**os.environ, "STASO_HOME": str(home / "staso"), "CODEX_HOME": str(home / "codex")}
        proc = subprocess.run(
            [sys.executable, "-c", script, str(home)],
            env=env,
            cwd=Path(__file__).parent.parent,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        outputs.append(json.loads(proc.stdout))
    assert outputs[0] == outputs[1] and len(outputs[0]) > 3


def test_missing_key_for_staso_endpoint_is_one_clear_line_and_loses_nothing(isolated_homes):
    record_fixture("hello", isolated_homes["codex"])
    result = CliRunner().invoke(cli, ["flush"])
    assert result.exit_code == 1
    assert result.output.strip().count("\n") == 0
    assert "no API key for the Staso endpoint" in result.output
    # the worker (no key) still turns records into spooled spans
    report = worker.drain()
    assert report.spans_sent == 0 and report.spans_left == 2
    assert any("no API key" in e for e in report.errors)


def test_spool_bound_drops_oldest_batches_with_a_log_line(isolated_homes, monkeypatch):
    record_fixture("tour_resume", isolated_homes["codex"])
    record_fixture("hello", isolated_homes["codex"])
    monkeypatch.setenv("STASO_SPOOL_MAX_BYTES", "20000")
    report = worker.drain(
        send=False, settings=settings.load(overrides={"endpoint": "http://127.0.0.1:9/v1/traces"})
    )
    usage = Spool().usage()
    assert usage["bytes"] <= 20000
    assert usage["spans"] < report.spans_spooled
    assert "dropped the oldest" in (paths.logs_dir() / "staso.log").read_text()


def _spawn_worker(env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "staso_otel.pipeline.worker"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_two_workers_started_at_once_export_once(receiver, isolated_homes):
    record_fixture("tour_resume", isolated_homes["codex"])
    env = {**os.environ, "STASO_ENDPOINT": receiver.endpoint, "STASO_WORKER_IDLE_SECONDS": "0.5"}
    procs = [_spawn_worker(env) for _ in range(2)]
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert out == b""
    assert len(receiver.spans) == TOUR_SPANS
    assert max(_ids(receiver.spans).values()) == 1


def test_the_real_hook_spawns_a_worker_that_exports_by_itself(receiver, isolated_homes):
    from replay import FIXTURES_CODEX, load_events

    codex_home = isolated_homes["codex"]
    env = {**os.environ, "STASO_ENDPOINT": receiver.endpoint, "STASO_WORKER_IDLE_SECONDS": "1"}
    env.pop("STASO_RAISE_INTERNAL", None)
    for _, payload in load_events(FIXTURES_CODEX / "hello", codex_home):
        run_hook_process("codex", json.dumps(payload).encode(), env)
    assert receiver.wait_for(lambda spans: len(spans) >= 2, timeout_s=60)
    names = sorted(s["name"] for s in receiver.spans)
    assert names == ["chat gpt-6.1-sol", "invoke_agent codex"]


def test_worker_status_file_records_the_last_export(receiver, isolated_homes):
    record_fixture("hello", isolated_homes["codex"])
    worker.drain(settings=_settings(receiver.endpoint))
    status = worker.read_status()
    assert status["sent_total"] == 2 and status["last_export_ns"] > 0


def test_a_session_idle_for_a_day_is_collected_and_its_open_turn_exported(receiver, isolated_homes):
    day_ago = time.time_ns() - 25 * 3600 * 10**9
    record_fixture("interrupt", isolated_homes["codex"], now_ns=day_ago)
    # an unfinished turn: a prompt and a model request, then nothing
    from staso_otel.hook import main as hook_main

    hook_main.record(
        "codex",
        json.dumps(
            {
                "session_id": "idle-1",
                "turn_id": "t1",
                "hook_event_name": "UserPromptSubmit",
                "prompt": "never finished",
                "transcript_path": None,
                "cwd": "/w",
            }
        ).encode(),
        day_ago,
    )
    report = worker.drain(settings=_settings(receiver.endpoint))
    assert report.spans_left == 0
    unfinished = [s for s in receiver.spans if s["attributes"].get("session.id") == "idle-1"]
    assert [s["attributes"]["staso.turn.outcome"] for s in unfinished] == ["unfinished"]
    assert not list((paths.journal_dir() / "codex").glob("*.jsonl"))
    assert not list(state.all_states())


def test_runtime_log_rotates(isolated_homes, monkeypatch):
    from staso_otel import log

    monkeypatch.setattr(log, "MAX_BYTES", 2000)
    for n in range(200):
        log.info("test", f"line {n} " + "x" * 50)
    logs = sorted(p.name for p in paths.logs_dir().iterdir())
    assert logs == ["staso.log", "staso.log.1", "staso.log.2", "staso.log.3"]
    assert all((paths.logs_dir() / n).stat().st_size <= 2200 for n in logs)
    assert "line 199" in (paths.logs_dir() / "staso.log").read_text()
