"""Feed recorded Codex sessions through the real hook record path, for export tests."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from replay import FIXTURES_CODEX, load_events

from staso_otel.hook import main as hook_main


def record_fixture(name: str, codex_home: Path, *, now_ns: int | None = None) -> int:
    """Record every hook event of fixture `name` as if it just happened; returns the count.

    Times are shifted so the last event is `now_ns`: the recorded sessions are from
    2026-11-23 and must not look idle for 24 h (that would expire them on the spot).
    """
    fixture = FIXTURES_CODEX / name
    if (fixture / "sessions").is_dir():
        shutil.copytree(fixture / "sessions", codex_home / "sessions", dirs_exist_ok=True)
    events = load_events(fixture, codex_home)
    shift = (now_ns or time.time_ns()) - events[-1][0]
    for received_ns, payload in events:
        hook_main.record("codex", json.dumps(payload).encode(), received_ns + shift)
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
