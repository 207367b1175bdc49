"""Copies of a recorded session under new ids, for load: N sessions from one recording.

A recording (tests/fixtures/<agent>/<run>/) holds the hook payloads and the agent's own
files (Codex rollouts under sessions/, Claude Code transcripts under projects/). `clone`
writes those files under a scratch home with the session id replaced (so each copy is a
session of its own, with its own trace ids) and returns the payloads to feed the hook.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures"
RECORDED_HOME = "/home/dev"
AGENT_FILES = {
    "codex": ("sessions", ".codex/sessions"),
    "claude-code": ("projects", ".claude/projects"),
}


@dataclass
class Session:
    target: str
    session_id: str
    events: list[tuple[str, bytes]]  # (hook event name, stdin payload)

    @property
    def stop_index(self) -> int:
        return max(i for i, (name, _) in enumerate(self.events) if name == "Stop")


def clone(target: str, run: str, home: Path, n: int) -> Session:
    """Copy number `n` of fixture `run` of `target`, under `home`."""
    fixture = FIXTURES / target / run
    lines = (fixture / "hooks.jsonl").read_text().splitlines()
    old = json.loads(lines[0])["payload"]["session_id"]
    new = f"{old[:-8]}{n:08d}"

    def rewrite(text: str) -> str:
        return text.replace(RECORDED_HOME + "/", f"{home}/").replace(old, new)

    folder, dest = AGENT_FILES[target]
    for src in sorted((fixture / folder).rglob("*")):
        if src.is_file():
            dst = home / dest / rewrite(str(src.relative_to(fixture / folder)))
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.write_text(rewrite(src.read_text()))
    events = []
    for line in lines:
        payload = json.loads(rewrite(line))["payload"]
        events.append((payload["hook_event_name"], json.dumps(payload).encode()))
    return Session(target, new, events)


def journal_tours(staso_home: Path, agents_home: Path, count: int, first: int = 0) -> int:
    """Journal `count` copies of Codex `tour_resume` (16 spans each) into `staso_home` with
    the real hook's record(), no worker spawned; returns the spans they make."""
    import os
    import time

    from staso_otel.hook import main as hook_main

    old = dict(os.environ)
    os.environ.update(STASO_HOME=str(staso_home), STASO_NO_WORKER="1")
    try:
        for n in range(first, first + count):
            for _, raw in clone("codex", "tour_resume", agents_home / f"h{n}", n).events:
                hook_main.record("codex", raw, time.time_ns())
    finally:
        os.environ.clear()
        os.environ.update(old)
    return 16 * count
