"""`staso import`: recorded sessions rebuilt from their transcripts alone, as a user runs it.

The live side runs each recorded session through the real hook path (`hook.main.record`)
and the real worker to a real OTLP receiver; the import side runs the `staso import`
command (click's runner, and once as a subprocess) over the same transcripts.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from otlp_receiver import Receiver
from pipeline_helpers import record_claude_fixture, record_fixture, run_staso
from staso_cli.main import cli

from staso_otel import paths, semconv, settings
from staso_otel.local.store import Store
from staso_otel.pipeline import worker

CODEX = [
    "tour_resume",  # two turns, resumed
    "spawn_v1",  # a sub-agent (multi-agent v1)
    "spawn_v2-0.171.0",  # a sub-agent (v2: the spawn answer names no agent id)
    "codemode",  # calls made by a code-mode `exec` cell
    "model_error",  # a failed model request ends the turn
    "legacy-0.125.0",  # the legacy rollout format, no model hooks
    "mcp",
    "stop_block",  # a Stop hook blocked: the turn goes on in a second trace
    "interrupt",
    "compact-0.171.0",
]
CLAUDE = [
    "agent",  # a background sub-agent and its task-notification turn
    "fan",  # two parallel sub-agents
    "nest",  # a sub-agent of a sub-agent
    "tasks",
    "bg_bash",  # a background shell whose failure arrives mid-turn
    "api_error",  # the API refused the request: no Stop
    "tour_resume",  # one transcript over three resumed runs
    "fork",  # --fork-session: a second session holding the first one's history
    "parallel",
]


@pytest.fixture
def claude_home(isolated_homes, monkeypatch) -> Path:
    """The recorded transcripts go under ~/.claude/projects, as Claude Code writes them."""
    home = isolated_homes["home"]
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(home / ".claude"))
    return home


def _live(target: str, names: list[str], homes: dict, claude_home: Path, endpoint: str) -> int:
    """Record the sessions through the hook path and let the worker export them."""
    for name in names:
        if target == "codex":
            record_fixture(name, homes["codex"])
        else:
            record_claude_fixture(name, claude_home)
    report = worker.drain(settings=settings.load(overrides={"endpoint": endpoint}))
    assert report.spans_left == 0 and not report.errors
    return report.spans_sent


def _import(*args: str) -> tuple[int, dict]:
    result = CliRunner().invoke(cli, ["import", *args, "--json"], catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout)


def _key(span: dict) -> tuple:
    return (span["trace_id"], span["span_id"], span["parent_span_id"], span["name"])


def _facts(span: dict) -> tuple:
    """What an imported span must tell as the live one did."""
    a = span["attributes"]
    return (
        _key(span),
        span["status"],
        a.get(semconv.STASO_TURN_OUTCOME),
        a.get(semconv.GEN_AI_USAGE_INPUT_TOKENS),
        a.get(semconv.GEN_AI_USAGE_OUTPUT_TOKENS),
        a.get(semconv.GEN_AI_TOOL_CALL_ID),
    )


@pytest.mark.parametrize(
    ("target", "name"), [("codex", n) for n in CODEX] + [("claude-code", n) for n in CLAUDE]
)
def test_import_alone_rebuilds_every_span_the_hooks_produced(
    target, name, isolated_homes, claude_home, monkeypatch, tmp_path
):
    live, imported = Receiver().start(), Receiver().start()
    try:
        monkeypatch.setenv("STASO_ENDPOINT", live.endpoint)
        assert _live(target, [name], isolated_homes, claude_home, live.endpoint) > 0
        # a fresh STASO_HOME: no journal, no state, no ledger; only the transcripts
        monkeypatch.setenv("STASO_HOME", str(tmp_path / "fresh-home"))
        code, report = _import("--target", target, "--endpoint", imported.endpoint)
    finally:
        live.stop()
        imported.stop()
    assert code == 0, report
    assert report["spans_sent"] == report["spans"] == len(imported.spans)
    assert {_facts(s) for s in imported.spans} == {_facts(s) for s in live.spans}
    assert len(imported.spans) == len(live.spans)  # no span twice
    for span in imported.spans:
        attrs = span["attributes"]
        assert attrs[semconv.STASO_IMPORTED] is True
        assert "tool_start_time" in attrs[semconv.STASO_IMPORT_UNKNOWN]
        assert "permission_mode" in attrs[semconv.STASO_IMPORT_UNKNOWN]
    roots = [s for s in imported.spans if s["parent_span_id"] is None]
    assert report["turns"] == len(roots)


def test_a_skill_preamble_is_the_one_call_a_transcript_cannot_give(
    isolated_homes, claude_home, monkeypatch, tmp_path
):
    """The `!cmd` of a skill fired PreSkillShellCommand live, under an id the transcript
    never names: the import rebuilds everything else and says nothing it cannot know."""
    live, imported = Receiver().start(), Receiver().start()
    try:
        monkeypatch.setenv("STASO_ENDPOINT", live.endpoint)
        _live("claude-code", ["skill"], isolated_homes, claude_home, live.endpoint)
        monkeypatch.setenv("STASO_HOME", str(tmp_path / "fresh-home"))
        code, _ = _import("--endpoint", imported.endpoint)
    finally:
        live.stop()
        imported.stop()
    assert code == 0
    missing = {_key(s) for s in live.spans} - {_key(s) for s in imported.spans}
    preamble = [s for s in live.spans if s["attributes"].get(semconv.STASO_TOOL_SOURCE) == "skill"]
    assert len(preamble) == 1 and missing == {_key(preamble[0])}
    assert {_key(s) for s in imported.spans} < {_key(s) for s in live.spans}


@pytest.mark.parametrize(
    ("target", "names"),
    [("codex", ["tour_resume", "spawn_v1", "codemode"]), ("claude-code", ["agent", "nest"])],
)
def test_import_after_live_tracing_sends_no_new_span(
    target, names, isolated_homes, claude_home, receiver, monkeypatch
):
    monkeypatch.setenv("STASO_ENDPOINT", receiver.endpoint)
    sent = _live(target, names, isolated_homes, claude_home, receiver.endpoint)
    ids = {s["span_id"] for s in receiver.spans}
    code, report = _import("--target", target)
    assert code == 0, report
    assert report["spans"] == 0 and report["already"] > 0
    assert len(receiver.spans) == sent and {s["span_id"] for s in receiver.spans} == ids
    # weeks later the worker has deleted the session's journal and state: still nothing new
    for folder in ("journal", "state"):
        shutil.rmtree(paths.staso_home() / folder, ignore_errors=True)
    code, again = _import("--target", target)
    assert code == 0 and again["spans"] == 0 and again["already"] == report["already"]
    assert len(receiver.spans) == sent


def test_importing_twice_sends_each_span_once(isolated_homes, claude_home, receiver):
    record_fixture("tour_resume", isolated_homes["codex"])  # live hooks ran, no worker ever did
    shutil.rmtree(paths.staso_home() / "journal")
    Path(claude_home / ".claude").mkdir(parents=True, exist_ok=True)
    from replay_claude import FIXTURES_CLAUDE, Transcripts

    Transcripts(FIXTURES_CLAUDE / "fan", claude_home).write_until(None)
    code, first = _import("--endpoint", receiver.endpoint)
    assert code == 0 and first["sessions"] == 2 and first["spans"] == len(receiver.spans) > 0
    code, second = _import("--endpoint", receiver.endpoint)
    assert code == 0 and second["spans"] == 0
    units = first["turns"] + 2  # the two sub-agent runs of `fan` are units too
    assert second["already"] == first["already"] + units
    ids = [s["span_id"] for s in receiver.spans]
    assert len(ids) == len(set(ids)) == first["spans"]


def test_a_bad_or_truncated_file_is_reported_and_skipped(
    isolated_homes, receiver, tmp_path, monkeypatch
):
    record_fixture("tour_resume", isolated_homes["codex"])
    record_fixture("hello", isolated_homes["codex"])
    shutil.rmtree(paths.staso_home() / "journal")
    rollouts = sorted((isolated_homes["codex"] / "sessions").rglob("rollout-*.jsonl"))
    hello = next(p for p in rollouts if b"SCENARIO:hello" in p.read_bytes())
    data = hello.read_bytes()
    hello.write_bytes(data[: data.rindex(b"\n", 0, len(data) - 1) + 40])  # torn mid-line
    garbage = isolated_homes["codex"] / "sessions" / "rollout-garbage.jsonl"
    garbage.write_bytes(b"\x00\xffnot json at all\n")
    before = {p: p.read_bytes() for p in [*rollouts, garbage]}
    result = CliRunner().invoke(cli, ["import", "--endpoint", receiver.endpoint])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert f"skipped {garbage}: not a Codex rollout" in result.stderr
    assert f"skipped {hello}: 1 unreadable or truncated line(s) skipped" in result.stderr
    assert "2 sessions, 3 turns" in result.stdout  # both sessions, the torn one up to its tear
    roots = [s for s in receiver.spans if s["parent_span_id"] is None]
    assert len(roots) == 3
    assert {p: p.read_bytes() for p in before} == before  # the user's files untouched


def test_dry_run_sends_and_remembers_nothing_and_pipes_plain_counts(
    isolated_homes, receiver, monkeypatch
):
    record_fixture("spawn_v1", isolated_homes["codex"])
    shutil.rmtree(paths.staso_home() / "journal")
    env = {**os.environ, "STASO_ENDPOINT": receiver.endpoint}
    proc = run_staso("import", "--dry-run", env=env)
    assert proc.returncode == 0, proc.stderr
    session = "01a20a6d-6121-7030-a4cf-7a97b79883e4"
    assert f"codex {session}: 1 sessions, 1 turns, 10 spans" in proc.stderr  # piped: counts
    assert "would send 10 spans" in proc.stdout
    assert receiver.spans == [] and not (paths.staso_home() / "ledger").exists()
    proc = run_staso("import", "--json", env=env)
    report = json.loads(proc.stdout)
    assert proc.returncode == 0 and report["spans_sent"] == 10 == len(receiver.spans)
    assert proc.stderr == ""  # --json: the report only


def test_a_json_import_loads_no_terminal_viewer(isolated_homes, receiver):
    """`--json` writes the report only: rich (the progress bar's and the summary's) is
    not imported for it, as scripts and the benchmark run the import."""
    record_fixture("hello", isolated_homes["codex"])
    probe = (
        "import atexit, sys\n"
        "atexit.register(lambda: print(sorted({m.split('.')[0] for m in sys.modules}),"
        " file=sys.stderr))\n"
        "sys.argv = ['staso', *sys.argv[1:]]\n"
        "from staso_cli.entry import main\n"
        "main()\n"
    )
    env = {**os.environ, "STASO_ENDPOINT": receiver.endpoint}
    for args, rich in ((["--json"], False), ([], True)):
        proc = subprocess.run(
            [sys.executable, "-c", probe, "import", "--dry-run", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        assert ("rich" in ast.literal_eval(proc.stderr.splitlines()[-1])) is rich, args


def test_on_a_terminal_the_import_shows_a_progress_bar(isolated_homes, receiver):
    import pty
    import select

    record_fixture("hello", isolated_homes["codex"])
    env = {**os.environ, "STASO_ENDPOINT": receiver.endpoint, "COLUMNS": "120"}
    main, tty = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "staso_cli.entry", "import", "--dry-run"],
        env=env,
        stdout=tty,
        stderr=tty,
    )
    os.close(tty)
    out = b""
    try:
        for _ in range(600):  # bounded: at most 60 s of 0.1 s reads
            if not select.select([main], [], [], 0.1)[0]:
                if proc.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(main, 65536)
            except OSError:  # the other end closed (Linux: EIO)
                break
            if not chunk:
                break
            out += chunk
    finally:
        os.close(main)
        proc.wait(timeout=60)
    text = out.decode("utf-8", "replace")
    assert proc.returncode == 0, text
    assert "\u2501" in text  # the bar's line, drawn only on a terminal
    assert "would send" in text and "1 sessions" in text


def test_session_and_since_pick_what_is_imported(isolated_homes, receiver):
    record_fixture("tour_resume", isolated_homes["codex"])
    record_fixture("hello", isolated_homes["codex"])
    shutil.rmtree(paths.staso_home() / "journal")
    hello = "01a20a6e-f8c1-7041-a2b8-b1f533b1d0e1"
    code, report = _import("--session", hello, "--endpoint", receiver.endpoint, "--dry-run")
    assert code == 0 and report["sessions"] == 1 and report["turns"] == 1
    code, report = _import("--since", "2999-01-01", "--dry-run")
    assert code == 0 and report["sessions"] == 0
    code, report = _import("--since", "2000-01-01", "--dry-run")
    assert code == 0 and report["sessions"] == 2 and report["turns"] == 3


def test_local_stores_into_the_local_collector_store(isolated_homes, claude_home):
    from replay_claude import FIXTURES_CLAUDE, Transcripts

    Transcripts(FIXTURES_CLAUDE / "agent", claude_home).write_until(None)
    code, report = _import("--local")
    assert code == 0 and report["spans"] == report["spans_sent"] == 10
    store = Store()
    assert store.count() == 10
    assert [s["session_id"] for s in store.sessions()] == ["874d5789-5155-41e4-96d3-0e51a9dec172"]
    code, again = _import("--local")
    assert code == 0 and again["spans"] == 0 and store.count() == 10


def test_an_unreachable_endpoint_imports_nothing(isolated_homes):
    record_fixture("hello", isolated_homes["codex"])
    shutil.rmtree(paths.staso_home() / "journal")
    dead = Receiver().start()
    endpoint = dead.endpoint
    dead.stop()
    result = CliRunner().invoke(cli, ["import", "--endpoint", endpoint])
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and "cannot reach" in result.output
    assert not list(paths.staso_home().rglob("ledger"))
    assert not list(paths.staso_home().rglob("*.batch*"))


def test_a_live_worker_holding_the_lock_gets_the_import_spooled_not_lost(
    isolated_homes, receiver, monkeypatch
):
    """While a live worker holds the lock the import only spools; the batches wait in the
    worker's own spool and go out with its next send, each span once."""
    from staso_otel.backfill import run

    monkeypatch.setattr(run, "LAST_SEND_WAIT_S", 0.2)
    monkeypatch.setenv("STASO_ENDPOINT", receiver.endpoint)
    record_fixture("tour_resume", isolated_homes["codex"])
    shutil.rmtree(paths.staso_home() / "journal")
    with worker.worker_lock(timeout_s=0) as held:  # as a running worker holds it
        assert held
        result = CliRunner().invoke(cli, ["import", "--json"], catch_exceptions=False)
    report = json.loads(result.stdout)
    assert result.exit_code == 1 and report["spans_sent"] == 0
    assert report["spans_left"] == report["spans"] == 16 and receiver.spans == []
    flushed = run_staso("flush", env=dict(os.environ))
    assert flushed.returncode == 0, flushed.stderr
    ids = [s["span_id"] for s in receiver.spans]
    assert len(ids) == len(set(ids)) == 16
    code, again = _import()
    assert code == 0 and again["spans"] == 0 and len(receiver.spans) == 16


def test_a_ledger_the_previous_release_wrote_is_still_honoured(
    isolated_homes, claude_home, receiver, monkeypatch
):
    """Releases before the shared ledger files kept one `<session>.ids` per session, a span
    id a line: a session traced live by one of them is not sent again by an import."""
    monkeypatch.setenv("STASO_ENDPOINT", receiver.endpoint)
    sent = _live(
        "codex", ["tour_resume", "spawn_v1"], isolated_homes, claude_home, receiver.endpoint
    )
    folder = paths.staso_home() / "ledger" / "codex"
    lines = [line.split() for f in folder.iterdir() for line in f.read_text().splitlines()]
    shutil.rmtree(folder)
    folder.mkdir()
    for unit, session in lines:  # as the previous release wrote them
        with open(folder / f"{session}.ids", "a") as fh:
            fh.write(f"{unit}\n")
    code, report = _import("--target", "codex")
    assert code == 0 and report["spans"] == 0 and report["already"] == len(lines) > 0
    assert len(receiver.spans) == sent


def _root(session: str, span_id: int):
    """A turn's root span, as the ledger notes it."""
    from staso_otel.span.model import SpanData

    attrs = {semconv.GEN_AI_OPERATION_NAME: semconv.OP_INVOKE_AGENT, semconv.SESSION_ID: session}
    return SpanData(1, span_id, None, "invoke_agent codex", "INTERNAL", 1, 2, attrs, target="codex")


def test_the_ledger_keeps_a_bounded_number_of_files_whatever_the_sessions(isolated_homes):
    """One file per session cost a file creation per session (0.3-1 ms on a filesystem
    with recent churn); the sessions share ledger.SHARDS files."""
    from staso_otel.export import ledger

    sessions = [f"019a{n:04x}-0000-7000-8000-{n:012x}" for n in range(600)]
    for n, session in enumerate(sessions):
        ledger.note([_root(session, 2 * n + 1), _root(session, 2 * n + 2)])
    files = list((paths.staso_home() / "ledger" / "codex").iterdir())
    assert 0 < len(files) <= ledger.SHARDS < len(sessions)
    for n, session in enumerate(sessions):
        assert ledger.known("codex", session) == {2 * n + 1, 2 * n + 2}
    # a writer killed mid-line, the next append glued to it: that unit alone is lost
    shard = ledger.shard_path("codex", sessions[0])
    with open(shard, "ab") as fh:
        fh.write(b"00000000deadbe")
    ledger.note([_root(sessions[0], 999)])
    assert ledger.known("codex", sessions[0]) == {1, 2}
    assert ledger.known("codex", "no-such-session") == set()


def test_units_noted_in_the_256_shards_of_12_02_are_still_known(isolated_homes):
    """12-02's release noted units in 256 shards (`<xx>.ids`); a fresh STASO_HOME's first
    import created up to 512 of them. Now 16 a target: what the old layout holds still
    counts, or an import after the upgrade would send those turns again."""
    from staso_otel.export import ledger

    session = "019a0001-0000-7000-8000-000000000001"
    other = "x" + session  # a session whose id ends with the first's: not its lines
    old = ledger.legacy_shard_path("codex", session)
    assert old != ledger.shard_path("codex", session)
    assert old.parent == ledger.shard_path("codex", session).parent
    old.parent.mkdir(parents=True)
    # the session's lines among another's, one torn (a writer killed mid-line)
    old.write_text(
        f"{5:016x} {other}\n"
        f"{7:016x} {session}\n"
        f"00000000dead{8:016x} {session}\n"
        f"{9:016x} {session}x\n"
        f"{10:016x} {session}\n"
    )
    assert ledger.known("codex", session) == {7, 10}
    ledger.note([_root(session, 11)])  # the new layout's shard, read beside the old
    assert ledger.known("codex", session) == {7, 10, 11}


def test_the_import_sends_what_it_spooled_from_memory(
    isolated_homes, claude_home, receiver, monkeypatch
):
    """Each batch the import spools is sent next, on its send thread: from memory, not read
    back from disk and decoded again (the file is still checked to be the one written)."""
    from staso_otel.export import spool

    read_back = []
    real = spool.Spool._recall

    def recall(self, path):
        batch = real(self, path)
        read_back.append(batch is None)
        return batch

    monkeypatch.setattr(spool.Spool, "_recall", recall)
    for name in ("tour_resume", "spawn_v1", "codemode"):
        record_fixture(name, isolated_homes["codex"])
    shutil.rmtree(paths.staso_home() / "journal")  # live hooks ran, no worker ever did
    code, report = _import("--endpoint", receiver.endpoint)
    assert code == 0 and report["spans_sent"] == report["spans"] == len(receiver.spans) > 0
    assert read_back and not any(read_back), read_back
