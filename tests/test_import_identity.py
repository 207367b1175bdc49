"""`staso import` sends exactly what the turn kernel makes of the synthesised records.

However the import reads, batches, groups and sends (one decode of a line shared by the
synthesiser and the kernel, spool batches across sessions, sending while it rebuilds),
what arrives must be what the kernel builds when it is fed the same sessions' records one
at a time, marked and redacted the same way, in the same order: every span of both
agents' recorded sessions, field for field, each session's in the same order.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from clone_sessions import AGENT_FILES, FIXTURES, clone
from otlp_receiver import Receiver

from staso_otel import cores, semconv, settings, targets
from staso_otel.backfill import child, run, sources
from staso_otel.pipeline import worker
from staso_otel.targets.base import Context


def _recordings() -> list[tuple[str, str]]:
    out = []
    for target, (folder, _) in AGENT_FILES.items():
        for fixture in sorted((FIXTURES / target).iterdir()):
            if (fixture / folder).is_dir() and (fixture / "hooks.jsonl").is_file():
                out.append((target, fixture.name))
    return out


@pytest.fixture
def transcripts(isolated_homes, monkeypatch) -> Path:
    """Every recorded session of both agents, twice over (a second copy under new ids),
    in the agents' own folders."""
    home = isolated_homes["home"]
    monkeypatch.setenv("CODEX_HOME", str(home / ".codex"))
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(home / ".claude"))
    for n, (target, name) in enumerate(_recordings() * 2):
        clone(target, name, home, n)
    return home


def _reference(found: sources.Found, st: settings.Settings, home: Path) -> None:
    """The kernel fed one record at a time per session, each session's spans marked,
    redacted and spooled by the worker's pipeline, then sent."""
    pipeline = worker.Pipeline(home, st)
    for n, session in enumerate(found.sessions):
        synth = run._SYNTH[session.target]
        target = targets.get(session.target)
        state: dict = {}
        spans = []
        last = 0
        capture = bool(st.capture_content)
        for record in synth.records(session.files, {"bytes": 0, "bad_lines": 0}):
            last = record.received_ns
            spans += target.process(state, [record], Context(now_ns=last, capture_content=capture))
        spans += target.expire(state, Context(now_ns=last, capture_content=capture))
        if spans:
            pipeline.spool_spans(f"ref.{n:06d}", run._mark(spans, synth.UNKNOWN))
    pipeline.send_spool(force=True)
    assert pipeline.report().spans_left == 0
    pipeline.close()


def _plain(spans: list[dict]) -> list[str]:
    return [json.dumps(s, sort_keys=True, default=repr) for s in spans]


def _by_session(spans: list[dict]) -> dict[str, list[str]]:
    """Each session's span ids in the order they arrived (sessions may share a request
    in any order; a session's own spans keep theirs)."""
    out: dict[str, list[str]] = {}
    for span in spans:
        out.setdefault(span["attributes"][semconv.SESSION_ID], []).append(span["span_id"])
    return out


@pytest.mark.parametrize("rebuild", ["here", "in a child process"])
def test_import_sends_what_the_kernel_builds_record_by_record(
    transcripts, tmp_path, monkeypatch, rebuild
):
    if rebuild == "here":
        monkeypatch.setattr(child, "MIN_BYTES", float("inf"))
    else:
        monkeypatch.setattr(child, "MIN_BYTES", 0)
        monkeypatch.setattr(cores, "free", lambda: 2.0)
    found = sources.find(sources.TARGETS)
    assert {s.target for s in found.sessions} == {"codex", "claude-code"}
    assert not found.skipped
    assert child.worth_it(found.sessions) == (rebuild != "here")
    imported, reference = Receiver().start(), Receiver().start()
    try:
        st = settings.load(overrides={"endpoint": imported.endpoint})
        report = run.run(found, settings=st, home=tmp_path / "import-home")
        _reference(
            found,
            settings.load(overrides={"endpoint": reference.endpoint}),
            tmp_path / "reference-home",
        )
    finally:
        imported.stop()
        reference.stop()
    assert not report.errors and not report.skipped, report
    assert report.spans == report.spans_sent == len(imported.spans) > 400
    assert sorted(_plain(imported.spans)) == sorted(_plain(reference.spans))
    assert _by_session(imported.spans) == _by_session(reference.spans)


def test_the_import_rebuilds_on_while_a_send_waits_for_the_backend(
    transcripts, tmp_path, monkeypatch
):
    """The backend holds its first answer until the import has spooled another batch with
    that send still in flight: an import that waited for the answer before rebuilding more
    would never do so (the wait gives up after 20 s, well inside the request's 60 s
    timeout, and the test fails). Asked of the import itself, not of the spool's files: a
    batch written between the send's start and the request's arrival counts too."""
    monkeypatch.setattr(run, "FLUSH_SPANS", 20)
    monkeypatch.setattr(run, "SEND_EVERY", 20)
    spool = tmp_path / "import-home" / "spool"
    spooled_while_sending = threading.Event()
    flush = run.Sink.flush

    def watched_flush(sink: run.Sink) -> None:
        if sink.held and sink._sending is not None and sink._sending.is_alive():
            spooled_while_sending.set()
        flush(sink)

    monkeypatch.setattr(run.Sink, "flush", watched_flush)
    rebuilt_meanwhile: list[bool] = []

    def answer(number: int) -> int:
        if number == 0:
            rebuilt_meanwhile.append(spooled_while_sending.wait(timeout=20))
        return 200

    receiver = Receiver(mode=answer).start()
    try:
        st = settings.load(overrides={"endpoint": receiver.endpoint, "export_timeout": 60})
        report = run.run(sources.find(sources.TARGETS), settings=st, home=spool.parent)
    finally:
        receiver.stop()
    assert rebuilt_meanwhile == [True]
    assert not report.errors and report.spans == report.spans_sent == len(receiver.spans) > 400
    ids = [s["span_id"] for s in receiver.spans]
    assert len(ids) == len(set(ids))
