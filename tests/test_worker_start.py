"""A worker start pays for what it does: nothing to do costs about a bare interpreter, and
the OpenTelemetry SDK and exporter load only once there are spans to send.

What the hook spawns (`spawn.WORKER_MODULE`) is run as the hook runs it: a fresh
interpreter, `-X importtime` telling which modules it loaded. The CPU this saves is
measured by `benchmarks/bench_worker.py`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pipeline_helpers import record_fixture

from staso_otel.export import spool
from staso_otel.hook import spawn
from staso_otel.pipeline import start, worker
from staso_otel.record import journal
from staso_otel.targets import base

HEAVY = ("opentelemetry", "requests", "filelock", "orjson", "tomlkit", "click", "rich")


def _loaded(argv: list[str], env: dict[str, str]) -> set[str]:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    names = set()
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return names


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, "STASO_WORKER_IDLE_SECONDS": "0.1", **extra}


def test_a_start_that_finds_everything_done_loads_nothing_heavy(isolated_homes) -> None:
    record_fixture("hello", isolated_homes["codex"])
    worker.drain(exporter=InMemorySpanExporter())  # the worker before this one took it all
    loaded = _loaded(["-m", spawn.WORKER_MODULE], _env())
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))
    assert "staso_otel" in loaded


def test_records_without_a_finished_turn_load_no_sdk(isolated_homes) -> None:
    from replay import FIXTURES_CODEX, load_events

    from staso_otel.hook import main as hook_main

    events = load_events(FIXTURES_CODEX / "hello", isolated_homes["codex"])
    for _, payload in events[:2]:  # SessionStart, UserPromptSubmit: no span is finished
        assert hook_main.record("codex", json.dumps(payload).encode(), time.time_ns())
    code = "from staso_otel.pipeline import worker; worker.run_worker()"
    loaded = _loaded(["-c", code], _env(STASO_ENDPOINT="http://127.0.0.1:9/v1/traces"))
    assert "opentelemetry" not in loaded and "requests" not in loaded
    ((_, path),) = journal.journals()
    assert start.has_work(os.environ["STASO_HOME"]) is False  # the records were consumed
    assert path.stat().st_size > 0


def test_a_start_with_records_to_export_delivers_them(receiver, isolated_homes) -> None:
    record_fixture("hello", isolated_homes["codex"])
    env = _env(STASO_ENDPOINT=receiver.endpoint)
    proc = subprocess.run(
        [sys.executable, "-m", spawn.WORKER_MODULE], env=env, capture_output=True, timeout=120
    )
    assert proc.returncode == 0 and proc.stdout == b"", proc.stderr
    assert {s["name"] for s in receiver.spans} >= {"invoke_agent codex"}


def test_what_counts_as_work(isolated_homes) -> None:
    home = os.environ["STASO_HOME"]
    assert start.has_work(home) is False  # nothing at all
    record_fixture("hello", isolated_homes["codex"])
    assert start.has_work(home) is True  # a journal without state
    worker.drain(send=False, exporter=InMemorySpanExporter())
    assert start.has_work(home) is True  # spans spooled, not sent
    for path in spool.Spool().batches():
        path.unlink()
    assert start.has_work(home) is False
    ((_, path),) = journal.journals()
    with open(path, "ab") as fh:
        fh.write(b"{}\n")  # a hook appended
    assert start.has_work(home) is True
    worker.drain(exporter=InMemorySpanExporter())
    assert start.has_work(home) is False
    day_ago = (path.stat().st_mtime_ns - base.IDLE_EXPIRY_NS - 10**9) / 1e9
    os.utime(path, (day_ago, day_ago))
    assert start.has_work(home) is True  # due to be expired


def test_the_look_uses_the_workers_own_constants() -> None:
    assert start.IDLE_EXPIRY_NS == base.IDLE_EXPIRY_NS
    assert start.BATCH_SUFFIX == spool.SUFFIX
    assert start.PARKED == spool.PARKED
    assert Path(spawn.worker_lock_path()).parent.name == "run"


def test_a_start_retries_a_parked_batch_once_its_hour_is_due(receiver, isolated_homes) -> None:
    """A rejected batch is parked with a retry an hour later, which a worker that stays
    keeps. One that left (past retry_linger_seconds) hands it to the next start: that
    start must see the parked batch as work once it is due, not only new records."""
    home = os.environ["STASO_HOME"]
    record_fixture("hello", isolated_homes["codex"])
    worker.drain(send=False, exporter=InMemorySpanExporter())
    sp = spool.Spool()
    (path,) = sp.batches()
    batch = sp.load(path)
    assert batch is not None and batch.spans
    sp.park(batch, "HTTP 400: refused", time.time_ns())  # retry due in an hour
    assert start.has_work(home) is False  # not due yet: a start need not load the worker
    hour_ago = time.time_ns() - (spool.PARK_RETRY_S + 60) * 10**9
    sp.park(sp.load(batch.path), "HTTP 400: refused", hour_ago)  # parked an hour ago
    assert start.has_work(home) is True
    proc = subprocess.run(
        [sys.executable, "-m", spawn.WORKER_MODULE],
        env=_env(STASO_ENDPOINT=receiver.endpoint),
        capture_output=True,
        timeout=120,
    )
    assert proc.returncode == 0 and proc.stdout == b"", proc.stderr
    assert len(receiver.spans) == len(batch.spans)
    assert sp.usage()["parked_spans"] == 0


def _workers_of(home_value: str) -> list[int]:
    """Pids of the workers started with STASO_HOME=`home_value` (a hook's: detached)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            environ = Path(f"/proc/{entry}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        ours = f"STASO_HOME={home_value}".encode() in environ
        if ours and spawn.WORKER_MODULE.encode() in cmdline:
            found.append(int(entry))
    return found


def test_the_worker_leaves_the_agents_folder_and_its_relative_paths_keep_their_meaning(
    tmp_path, isolated_homes
) -> None:
    """A worker waiting out a retry stays for a while: not in the agent's folder, which
    could then not be unmounted; STASO_HOME given relative to that folder is still it."""
    from otlp_receiver import Receiver
    from pipeline_helpers import run_setup_hook, worker_env
    from replay import FIXTURES_CODEX, load_events

    project = tmp_path / "project"
    project.mkdir()
    relative = f"staso-home-{tmp_path.name}"  # no other test's worker has this one
    receiver = Receiver(mode=lambda n: (503, {"Retry-After": "2"}) if n == 0 else 200).start()
    env = worker_env(receiver.endpoint, STASO_HOME=relative)
    try:
        events = load_events(FIXTURES_CODEX / "hello", isolated_homes["codex"])
        run_setup_hook("codex", events, env, cwd=project)  # as the agent runs its hooks
        deadline = time.monotonic() + 60
        while not receiver.requests and time.monotonic() < deadline:
            time.sleep(0.05)
        assert receiver.requests, "the worker sent nothing"
        workers = _workers_of(relative)  # refused once: waiting for its retry
        assert workers, "no worker alive in its retry wait"
        assert {os.readlink(f"/proc/{pid}/cwd") for pid in workers} == {"/"}
        assert receiver.wait_for(lambda spans: len(spans) >= 2, timeout_s=60)
    finally:
        receiver.stop()
    assert (project / relative / "journal").is_dir()  # the hooks' home: the worker's too
    assert not (Path("/") / relative).exists()


def test_the_worker_makes_absolute_every_path_setting_it_could_be_given() -> None:
    from staso_otel import settings

    names = set()
    for param in settings.PARAMS:
        if param.name in ("certificate", "client_certificate", "client_key"):
            names.update(param.staso_env)
            names.update(name for name, _ in param.otel_env)
    assert names and names <= set(start.PATH_VARIABLES), names - set(start.PATH_VARIABLES)
