"""What spooling a session costs the worker, and that it stays durable.

A worker draining a backlog spools one batch per session. Each used to cost two fsyncs
(the batch and the session's state) and a scan with a stat of every batch in the spool
(the bound check), so N sessions cost N^2 stats. Now: one fsync (the batch, before the
state that advances the journal offset is renamed into place) and a recount of the
spool at most once a second, or when the running total passes the bound.
"""

from __future__ import annotations

import os
from pathlib import Path

from pipeline_helpers import record_fixture

from staso_otel import paths, settings
from staso_otel.export import spool as spool_mod
from staso_otel.export.spool import Spool
from staso_otel.pipeline import worker
from staso_otel.span.model import SpanData


def _spans(n: int, text: str = "y" * 300) -> list[SpanData]:
    return [
        SpanData(1, i + 1, None, f"s{i}", "INTERNAL", 1, 2, {"input.value": text}, target="codex")
        for i in range(n)
    ]


def test_spooling_many_batches_does_not_rescan_the_spool_for_each(monkeypatch):
    scans = 0
    real = Spool.batches

    def counting(self: Spool, *, parked: bool = False):
        nonlocal scans
        scans += 1
        return real(self, parked=parked)

    monkeypatch.setattr(Spool, "batches", counting)
    monkeypatch.setattr(spool_mod, "RECOUNT_S", 3600.0)  # no recount by time in this test
    spool = Spool(max_bytes=10**9)
    for n in range(50):
        spool.write(f"codex.s{n:03d}.0", _spans(2))
    assert scans <= 2  # one count (waiting and parked folders) at the first write
    assert spool.usage()["batches"] == 50


def test_the_bound_holds_against_batches_another_process_spooled():
    other = Spool()  # e.g. the library's durable mode, in the user's process
    for n in range(10):
        other.write(f"api.s{n:03d}.0", _spans(2))
    size = other.usage()["bytes"] // 10
    bounded = Spool(max_bytes=size * 4)
    bounded.write("codex.new.0", _spans(2))
    usage = bounded.usage()
    assert usage["bytes"] <= size * 4
    assert (bounded.root / "codex.new.0.batch").exists()  # the oldest went, not the newest


def test_the_running_total_triggers_the_bound_between_recounts(monkeypatch):
    monkeypatch.setattr(spool_mod, "RECOUNT_S", 3600.0)
    spool = Spool()
    spool.write("codex.first.0", _spans(2))
    size = spool.usage()["bytes"]
    spool.max_bytes = size * 3
    for n in range(8):
        spool.write(f"codex.s{n:03d}.0", _spans(2))
    assert spool.usage()["bytes"] <= size * 3


def test_a_session_costs_one_fsync_and_its_batch_is_durable_before_its_state(
    isolated_homes, monkeypatch
):
    record_fixture("hello", isolated_homes["codex"])
    events: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(src, dst) -> None:
        events.append(("rename", str(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    pipeline = worker.Pipeline(settings=settings.load(overrides={"endpoint": "http://127.0.0.1:9"}))
    records, spooled = pipeline.process_journals()
    assert records and spooled == 2
    spool_dir, state_dir = str(paths.spool_dir()), str(paths.state_dir())
    fsynced = [Path(p).parent for kind, p in events if kind == "fsync"]
    assert fsynced == [Path(spool_dir)]  # the batch only; the state is not fsynced
    order = [
        ("batch" if dst.startswith(spool_dir) else "state" if dst.startswith(state_dir) else "")
        for kind, dst in events
        if kind == "rename"
    ]
    kinds = [k for k in order if k]
    assert kinds.index("batch") < kinds.index("state")
    fsync_at = next(i for i, e in enumerate(events) if e[0] == "fsync")
    state_at = next(
        i for i, e in enumerate(events) if e[0] == "rename" and e[1].startswith(state_dir)
    )
    assert fsync_at < state_at  # durable before the journal offset advances
