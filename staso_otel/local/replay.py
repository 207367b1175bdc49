"""Replay a recorded Codex session through the real hook record path. [local]

Used by `staso demo` (and by tests): the recording's paths (/home/dev/.codex) are rewritten
to a scratch CODEX_HOME holding a copy of its rollout files, and its receipt times are
shifted so that the session ends now (a session idle for 24 h would be expired at once).
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from staso_otel.hook import main as hook_main

RECORDED_CODEX_HOME = "/home/dev/.codex"
DEMO_SESSION = Path(__file__).parent / "demo" / "tour_resume"


def replay(recording: Path, codex_home: Path, *, target: str = "codex") -> int:
    """Record every event of `recording` (hooks.jsonl + sessions/); returns the count."""
    if (recording / "sessions").is_dir():
        shutil.copytree(recording / "sessions", codex_home / "sessions", dirs_exist_ok=True)
    events = []
    for line in (recording / "hooks.jsonl").read_text().splitlines():
        if line.strip():
            item = json.loads(line)
            raw = json.dumps(item["payload"]).replace(RECORDED_CODEX_HOME, str(codex_home))
            events.append((int(item["t"] * 1e9), raw.encode()))
    shift = time.time_ns() - events[-1][0]
    for received_ns, raw in events:
        hook_main.record(target, raw, received_ns + shift)
    return len(events)
