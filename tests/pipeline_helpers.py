"""Feed recorded Codex sessions through the real hook record path, for export tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from replay import FIXTURES_CODEX, Rollouts, load_events

from staso_otel.hook import main as hook_main

FIXTURES = Path(__file__).parent / "fixtures"
# what the real-backend interop tests (MLflow, Phoenix) send and read back: a Codex
# session, and a Claude Code session with a background sub-agent
BACKEND_RECORDINGS = [
    ("codex", FIXTURES / "codex" / "tour_resume"),
    ("claude-code", FIXTURES / "claude-code" / "agent"),
]


def record_backend_sessions(tmp: Path, now_ns: int, mp) -> None:
    """BACKEND_RECORDINGS through the real hook record path into a fresh STASO_HOME under
    `tmp`, as if they ended at `now_ns`; no worker starts, the caller drains."""
    from staso_otel.local import replay

    mp.setenv("STASO_HOME", str(tmp / "staso"))
    mp.setenv("STASO_NO_WORKER", "1")
    for n, (target, recording) in enumerate(BACKEND_RECORDINGS):
        replay.replay(recording, tmp / f"home-{n}", target=target, now_ns=now_ns)


def record_fixture(
    name: str,
    codex_home: Path,
    *,
    now_ns: int | None = None,
    worker: Callable[[], Any] | None = None,
) -> int:
    """Record every hook event of fixture `name` as if it just happened; returns the count.

    Times are shifted so the last event is `now_ns`: the recorded sessions are from
    2026-11-23 and must not look idle for 24 h (that would expire them on the spot). The
    rollouts' own timestamps move by the same amount (whole ms), so hook and rollout times
    agree as they do in a live session. With `worker`, each rollout grows as it did live
    (the lines written by each event's time) and `worker()` runs after every event: a
    worker that keeps up; without, the rollouts are complete before the first event.
    """
    fixture = FIXTURES_CODEX / name
    events = load_events(fixture, codex_home)
    shift = ((now_ns or time.time_ns()) - events[-1][0]) // 1_000_000 * 1_000_000
    rollouts = Rollouts(fixture, codex_home, shift_ns=shift)
    if worker is None:
        rollouts.write_until(None)
    for received_ns, payload in events:
        if worker is not None:
            rollouts.write_until(received_ns + shift)
        hook_main.record("codex", json.dumps(payload).encode(), received_ns + shift)
        if worker is not None:
            worker()
    rollouts.write_until(None)
    return len(events)


def run_staso(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """`staso ARGS` as a user runs it: a fresh process, output captured, bounded in time."""
    return subprocess.run(
        [sys.executable, "-m", "staso_cli.entry", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def journal_bytes(staso_home: Path, target: str) -> int:
    """All that the hooks have journalled for `target` so far (0 before the first event)."""
    root = staso_home / "journal" / target
    return sum(p.stat().st_size for p in root.glob("*")) if root.is_dir() else 0


def run_hook_process(target: str, raw: bytes, env: dict[str, str]) -> None:
    """`python -m staso_otel.hook <target>` with `raw` on stdin, as the agent starts it; it
    must leave the agent undisturbed whatever it was given: exit 0, nothing on stdout."""
    proc = subprocess.run(
        [sys.executable, "-m", "staso_otel.hook", target],
        input=raw,
        env=env,
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 0 and proc.stdout == b"", proc.stderr[-2000:]


def worker_env(endpoint: str, **extra: str) -> dict[str, str]:
    """This environment as the field has it, for a worker that exports to `endpoint` and
    exits a second after its work: hooks may start one, nothing raises what it would
    only log."""
    env = {**os.environ, "STASO_ENDPOINT": endpoint, "STASO_WORKER_IDLE_SECONDS": "1", **extra}
    env.pop("STASO_RAISE_INTERNAL", None)
    env.pop("STASO_NO_WORKER", None)
    return env


def run_setup_hook(
    target: str, events: list[tuple[int, dict]], env: dict[str, str], cwd: Path | None = None
) -> None:
    """Each event's payload through the hook command `staso setup` writes, run as the
    agents run it (`bash -c`, in the agent's folder `cwd`); each leaves the agent
    undisturbed: exit 0, nothing on stdout."""
    from staso_otel.targets import hookfile

    command = hookfile.hook_command(target)
    for _, payload in events:
        proc = subprocess.run(
            ["/bin/bash", "-c", command],
            input=json.dumps(payload).encode(),
            env=env,
            cwd=cwd,
            capture_output=True,
            timeout=60,
        )
        assert proc.returncode == 0 and proc.stdout == b"", proc.stderr[-2000:]


def run_worker_process(
    endpoint: str, why_stuck: str, home: Path | None = None
) -> subprocess.CompletedProcess:
    """The real worker process, as a hook starts it (no test-only raising); it must exit by
    itself within 90 s, else the test fails saying what it was presumably stuck on."""
    import pytest

    env = worker_env(endpoint, **({"STASO_HOME": str(home)} if home is not None else {}))
    try:
        return subprocess.run(
            [sys.executable, "-m", "staso_otel.pipeline.worker"],
            env=env,
            capture_output=True,
            timeout=90,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"the worker did not exit on its own ({why_stuck})")


def record_claude_fixture(name: str, home: Path) -> int:
    """Record every hook event of Claude Code fixture `name` through the real hook path,
    its transcripts written under `home/.claude/projects` first; returns the count."""
    from replay_claude import FIXTURES_CLAUDE, Transcripts
    from replay_claude import load_events as load_claude_events

    fixture = FIXTURES_CLAUDE / name
    events = load_claude_events(fixture, home)
    Transcripts(fixture, home).write_until(None)
    for received_ns, payload in events:
        hook_main.record("claude-code", json.dumps(payload).encode(), received_ns)
    return len(events)
