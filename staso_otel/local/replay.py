"""Replay a recorded agent session through the real hook record path. [local]

Used by `staso demo` (and by tests). A recording is `hooks.jsonl` (each line the receipt
time and the hook's stdin) plus the agent's own files as they were at the end: Codex
rollouts under `sessions/`, Claude Code transcripts under `projects/`. The recorded home
(`/home/dev`) is rewritten to a scratch folder holding a copy of those files, and every
time (receipt times and the transcripts' `timestamp`s alike) is shifted so the session
ends now: a session idle for 24 h would be expired at once, and spans timed from hooks
and from the transcript must stay on one clock.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from pathlib import Path

from staso_otel.hook import main as hook_main

RECORDED_HOME = "/home/dev"
DEMO_ROOT = Path(__file__).parent / "demo"
DEMO_SESSION = DEMO_ROOT / "tour_resume"  # Codex
DEMO_CLAUDE_SESSIONS = (
    DEMO_ROOT / "claude_code" / "tour_resume",
    DEMO_ROOT / "claude_code" / "agent",
)

# where each agent keeps the files its recording holds, relative to the scratch home
AGENT_FILES = {
    "codex": ("sessions", ".codex/sessions"),
    "claude-code": ("projects", ".claude/projects"),
}


def _shift_ts(value: str, shift_ns: int) -> str:
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    shifted = datetime.fromtimestamp(dt.timestamp() + shift_ns / 1e9, tz=timezone.utc)
    return shifted.strftime("%Y-%m-%dT%H:%M:%S.") + f"{shifted.microsecond // 1000:03d}Z"


def _copy_shifted(src: Path, dst: Path, home: Path, shift_ns: int) -> None:
    """Copy an agent's files, home rewritten and each JSON line's `timestamp` shifted."""
    for path in sorted(src.rglob("*")):
        if not path.is_file():
            continue
        target = dst / path.relative_to(src)
        target.parent.mkdir(parents=True, exist_ok=True)
        text = path.read_text(encoding="utf-8").replace(RECORDED_HOME + "/", f"{home}/")
        if path.suffix == ".jsonl":
            lines = []
            for line in text.splitlines():
                record = json.loads(line)
                if isinstance(record.get("timestamp"), str):
                    record["timestamp"] = _shift_ts(record["timestamp"], shift_ns)
                lines.append(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
            text = "\n".join(lines) + "\n"
        target.write_text(text, encoding="utf-8")


def _events(recording: Path, home: Path) -> list[tuple[int, bytes]]:
    events = []
    for line in (recording / "hooks.jsonl").read_text().splitlines():
        if line.strip():
            item = json.loads(line)
            raw = json.dumps(item["payload"]).replace(RECORDED_HOME + "/", f"{home}/")
            events.append((int(item["t"] * 1e9), raw.encode()))
    return events


def _agent_files(
    recording: Path, home: Path, target: str, events: list[tuple[int, bytes]], now_ns: int | None
) -> int:
    """Copy the agent's own files, shifted to end now; returns the shift (ns)."""
    # whole milliseconds, as transcripts are stamped: hook and transcript times stay exact
    shift = ((now_ns or time.time_ns()) - events[-1][0]) // 1_000_000 * 1_000_000
    folder, dest = AGENT_FILES[target]
    if (recording / folder).is_dir():
        _copy_shifted(recording / folder, home / dest, home, shift)
    return shift


def replay(recording: Path, home: Path, *, target: str = "codex", now_ns: int | None = None) -> int:
    """Record every event of `recording` as if it just happened (or ended at `now_ns`);
    returns the count. `home` is the scratch folder standing in for the recorded home."""
    events = _events(recording, home)
    shift = _agent_files(recording, home, target, events, now_ns)
    for received_ns, raw in events:
        hook_main.record(target, raw, received_ns + shift)
    return len(events)


def without_hooks(
    recording: Path, home: Path, *, target: str = "codex", now_ns: int | None = None
) -> Path:
    """Only the agent's own files of `recording`, as a session that ran without staso's
    hooks leaves them (shifted as `replay` shifts them); returns the folder they are in."""
    _agent_files(recording, home, target, _events(recording, home), now_ns)
    return home / AGENT_FILES[target][1]
