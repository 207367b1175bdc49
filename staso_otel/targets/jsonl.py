"""Reading an agent's append-only JSONL transcript incrementally. [targets, stdlib]

Both agents write their sessions as JSON lines that only grow (Codex rollouts, Claude
Code transcripts). Each target keeps a byte offset per file in its session state, so a
read touches only bytes written since the last one, and a line still being written (no
newline yet) waits for the next read. A file first seen mid-session is entered near its
end (`backscan`), so a hook late in a long session never reads the session's start.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

MAX_TEXT = 128 * 1024  # per string kept in state; redaction caps again before export
MAX_READ = 64 * 1024 * 1024  # per call, so one huge burst cannot stall the worker
BACKSCAN_CHUNK = 1024 * 1024
BACKSCAN_MAX = 16 * 1024 * 1024

# Bytes read from transcripts by this process: tests assert a late turn reads only its own.
stats = {"bytes_read": 0}


def parse_ts(value: Any) -> int | None:
    """ISO 8601 `2026-11-23T22:00:21.023Z` -> ns since the epoch."""
    if not isinstance(value, str):
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return int(dt.timestamp() * 1_000_000) * 1000


def cap(value: Any) -> Any:
    """A value small enough to keep in session state (strings and JSON cut at MAX_TEXT)."""
    if isinstance(value, str) and len(value) > MAX_TEXT:
        return value[:MAX_TEXT]
    if isinstance(value, (dict, list)):
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        if len(text) > MAX_TEXT:
            return text[:MAX_TEXT]
    return value


def read_lines(path: str, offset: int) -> tuple[list[dict[str, Any]], int]:
    """Complete JSON lines from `offset`; returns them and the offset after the last one.
    A line that is not a JSON object is skipped, never fatal."""
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            data = fh.read(MAX_READ)
    except OSError:
        return [], offset
    stats["bytes_read"] += len(data)
    end = data.rfind(b"\n")
    if end < 0:
        return [], offset
    lines = []
    for raw in data[: end + 1].splitlines():
        try:
            line = json.loads(raw)
        except ValueError:
            continue
        if isinstance(line, dict):
            lines.append(line)
    return lines, offset + end + 1


def backscan(path: str, needle: bytes, size: int) -> int | None:
    """The start of the first line of the last run of lines containing `needle`, found by
    reading back from the end in chunks (at most BACKSCAN_MAX bytes); None if not found."""
    found: int | None = None
    with open(path, "rb") as fh:
        pos = size
        while pos > 0 and size - pos < BACKSCAN_MAX:
            start = max(0, pos - BACKSCAN_CHUNK)
            fh.seek(start)
            chunk = fh.read(pos - start + len(needle))
            stats["bytes_read"] += len(chunk)
            hit = chunk.find(needle)
            if hit < 0 and found is not None:
                break  # the run's first line is in the chunk after this one
            if hit >= 0:
                found = start + hit
            pos = start
        if found is None:
            return None
        head_start = max(0, found - BACKSCAN_CHUNK)
        fh.seek(head_start)
        head = fh.read(found - head_start)
        newline = head.rfind(b"\n")
        return head_start + newline + 1 if newline >= 0 else 0
