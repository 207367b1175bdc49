"""Journals that a fault left half-written (issue 14), through the real hook subprocess and
worker, against recorded sessions: a torn record, a disk that fills mid-session, a last
line that never gets its newline, and a journal the previous release left torn.

Every case is checked by the spans a collector receives, against a clean run of the same
session without the event the fault destroyed.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from otlp_receiver import Receiver
from replay import FIXTURES_CODEX, RECORDED_CODEX_HOME
from replay import load_events as codex_events
from replay_claude import FIXTURES_CLAUDE, Transcripts
from replay_claude import load_events as claude_events

from staso_otel import settings
from staso_otel.hook import main as hook_main
from staso_otel.pipeline import worker
from staso_otel.record import journal, state
from staso_otel.targets import hookfile

FIXTURES = Path(__file__).parent / "fixtures"
# the event before each session's first Stop: the one a fault destroys below
AGENTS = {
    "codex": ("tour_resume", 21),
    "claude-code": ("tour_resume", 15),
}


def recorded_events(agent: str, homes: dict[str, Path]) -> list[bytes]:
    """The fixture's hook payloads as the agent sends them, its transcripts in place."""
    name, _ = AGENTS[agent]
    if agent == "codex":
        fixture = FIXTURES_CODEX / name
        shutil.copytree(fixture / "sessions", homes["codex"] / "sessions", dirs_exist_ok=True)
        events = codex_events(fixture, homes["codex"])
    else:
        fixture = FIXTURES_CLAUDE / name
        Transcripts(fixture, homes["home"]).write_until(None)
        events = claude_events(fixture, homes["home"])
    return [json.dumps(payload, separators=(",", ":")).encode() for _, payload in events]


def hook_env(home: Path) -> dict[str, str]:
    env = {**os.environ, "STASO_HOME": str(home), "STASO_NO_WORKER": "1"}
    env.pop("STASO_RAISE_INTERNAL", None)  # as in production: never fail the agent
    return env


def run_hook(agent: str, raw: bytes, home: Path) -> None:
    proc = subprocess.run(
        shlex.split(hookfile.hook_command(agent)),  # as `staso setup` writes it
        input=raw,
        env=hook_env(home),
        capture_output=True,
        timeout=60,
    )
    assert (proc.returncode, proc.stdout) == (0, b""), proc.stderr


def exported(home: Path) -> list[dict]:
    """Everything the worker makes of `home`'s journals, as a collector receives it."""
    rec = Receiver().start()
    try:
        s = settings.load(overrides={"endpoint": rec.endpoint}, home=home)
        report = worker.drain(home=home, settings=s)
        assert report.spans_left == 0, report
        return list(rec.spans)
    finally:
        rec.stop()


def shape(spans: list[dict]) -> list[tuple]:
    """Spans without their clock times (two runs of one session differ only there)."""
    out = []
    for s in spans:
        attrs = {k: v for k, v in s["attributes"].items() if not k.endswith("_ns")}
        out.append(
            (
                s["trace_id"],
                s["span_id"],
                s["parent_span_id"],
                s["name"],
                s["status"],
                json.dumps(attrs, sort_keys=True, default=str),
            )
        )
    return sorted(out)


def reference(agent: str, events: list[bytes], tmp_path: Path, drop: set[int]) -> list[tuple]:
    """The session recorded cleanly without the events in `drop` (the hook's own record
    path in this process: the same bytes, quicker than a process per event)."""
    home = tmp_path / "reference-home"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("STASO_HOME", str(home))
        for i, raw in enumerate(events):
            if i not in drop:
                assert hook_main.record(agent, raw, time.time_ns())
    return shape(exported(home))


def journal_of(agent: str, events: list[bytes], home: Path) -> Path:
    session_id = json.loads(events[0])["session_id"]
    return journal.journal_path(agent, session_id, home)


def log_text(home: Path) -> str:
    path = home / "logs" / "staso.log"
    return path.read_text() if path.exists() else ""


@pytest.mark.parametrize("agent", sorted(AGENTS))
def test_a_torn_record_loses_only_itself(agent, isolated_homes, tmp_path):
    """A hook killed mid-append leaves the first half of its record; the next record must
    not be glued onto it (that lost the turn's Stop and shifted every later model call)."""
    events = recorded_events(agent, isolated_homes)
    _, torn = AGENTS[agent]
    home = tmp_path / "home"
    for i, raw in enumerate(events):
        if i == torn:  # what the killed hook left: half its record, no newline
            path = journal_of(agent, events, home)
            line = journal.append_mod.encode(agent, time.time_ns(), raw)
            with open(path, "ab") as fh:
                fh.write(line[: len(line) // 2])
            continue
        run_hook(agent, raw, home)
    assert shape(exported(home)) == reference(agent, events, tmp_path, {torn})


@contextlib.contextmanager
def small_tmpfs(where: Path, size_kb: int) -> Iterator[Path]:
    """A real file system of `size_kb` (tmpfs; the tests run as root), unmounted after."""
    where.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_kb}k,mode=0700", "tmpfs", str(where)],
        check=True,
        capture_output=True,
        timeout=30,
    )
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=True, timeout=30)


def fill(folder: Path) -> Path:
    """Write a file until the file system is full, down to the last byte."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for chunk in (1 << 20, 1 << 16, 1 << 12, 1 << 8, 1):
            with contextlib.suppress(OSError):
                while os.write(fd, b"\0" * chunk):
                    pass
    finally:
        os.close(fd)
    return filler


@pytest.mark.parametrize("agent", sorted(AGENTS))
def test_a_full_disk_drops_events_with_one_log_line_and_recording_resumes(
    agent, isolated_homes, tmp_path
):
    """The disk fills six events before the session's first Stop and has room again at the
    next prompt: what fitted is recorded, nothing torn is left behind, the outage is logged
    once (not per event), and the spans are the clean run's without the events lost."""
    events = recorded_events(agent, isolated_homes)
    _, last = AGENTS[agent]
    full_from = last - 6
    resumed = next(i for i, raw in enumerate(events) if i > last and b'"UserPromptSubmit"' in raw)
    with small_tmpfs(tmp_path / "small-disk", 1024) as home:
        for i, raw in enumerate(events):
            if i == full_from:
                filler = fill(home)
            if i == resumed:
                filler.unlink()  # room again
            run_hook(agent, raw, home)
        lines = journal_of(agent, events, home).read_bytes().split(b"\n")
        assert lines[-1] == b""  # the journal ends with a whole record
        payloads = [json.loads(line)["payload"] for line in lines if line]
        sent = [json.loads(raw) for raw in events]
        assert payloads[resumed - len(events) :] == sent[resumed:]
        text = log_text(home)
        assert text.count("recording again") == 1, text
        assert len(re.findall("disk full", text)) <= 2, text
        got = shape(exported(home))
    kept, j = set(), 0  # which events the journal holds: it is a subsequence of `sent`
    for i, payload in enumerate(sent):
        if j < len(payloads) and payloads[j] == payload:
            kept.add(i)
            j += 1
    assert j == len(payloads)
    assert set(range(full_from, resumed)) - kept, "the disk never filled"
    assert got == reference(agent, events, tmp_path, set(range(len(events))) - kept)


def test_an_unterminated_last_line_is_skipped_after_a_grace_period(isolated_homes, tmp_path):
    """A hook killed mid-append as the session's last event: the worker used to wait for
    the rest of the line for ever (never exiting, never expiring the session)."""
    agent = "codex"
    events = recorded_events(agent, isolated_homes)
    home = tmp_path / "home"
    for raw in events[:-1]:
        run_hook(agent, raw, home)
    path = journal_of(agent, events, home)
    line = journal.append_mod.encode(agent, time.time_ns(), events[-1])
    with open(path, "ab") as fh:
        fh.write(line[: len(line) // 2])
    old = time.time() - 600  # the kill happened ten minutes ago
    os.utime(path, (old, old))
    rec = Receiver().start()
    try:
        env = {**hook_env(home), "STASO_ENDPOINT": rec.endpoint, "STASO_WORKER_IDLE_SECONDS": "0.5"}
        done = subprocess.run(
            [sys.executable, "-m", "staso_otel.pipeline.worker"], env=env, timeout=120
        )
        assert done.returncode == 0
        assert shape(rec.spans) == reference(agent, events, tmp_path, {len(events) - 1})
    finally:
        rec.stop()
    # a day later the session expires: journal and state (raw content) are deleted
    pipeline = worker.Pipeline(home, settings.load(home=home))
    pipeline.process_journals(now_ns=time.time_ns() + 2 * 24 * 3600 * 10**9)
    assert not path.exists()
    assert not state.state_path(agent, path.name, home).exists()


def test_a_journal_the_previous_release_left_glued_is_read_from_the_next_record(
    isolated_homes, tmp_path
):
    """tests/fixtures/journal/codex-tour_resume-glued-v1.jsonl was written by the previous
    release's hook, whose write of event 21 failed halfway: event 22 (Stop) was appended
    onto the torn record. The reader resynchronises at the glued record's start."""
    events = recorded_events("codex", isolated_homes)
    old = (FIXTURES / "journal" / "codex-tour_resume-glued-v1.jsonl").read_text()
    lines = old.replace(RECORDED_CODEX_HOME, str(isolated_homes["codex"])).splitlines()
    stamps = [int(n) for n in re.findall(r'"received_ns":(\d+)', "\n".join(lines))]
    shift = time.time_ns() - max(stamps)  # recorded long ago: must not look a day idle
    text = re.sub(
        r'"received_ns":(\d+)', lambda m: f'"received_ns":{int(m[1]) + shift}', "\n".join(lines)
    )
    home = tmp_path / "home"
    path = journal_of("codex", events, home)
    path.parent.mkdir(parents=True)
    path.write_text(text + "\n")
    assert shape(exported(home)) == reference("codex", events, tmp_path, {21})
