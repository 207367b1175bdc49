"""How long what staso keeps at rest stays: the quarantine folder, bounded. [export stage]

Hook input that was not an event (and journal lines no reader could use) goes to
`quarantine/events.jsonl`, up to 64 KiB per entry, for a bug report. It holds prompts and
outputs, unredacted, so it is bounded in age and size: the worker prunes it when it starts.
Pruning rewrites the file in place under the same flock the hook appends with, so an
append is never lost to a rename.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

from staso_otel import log, paths

QUARANTINE_MAX_BYTES = 4 * 1024 * 1024
QUARANTINE_MAX_AGE_NS = 7 * 24 * 3600 * 1_000_000_000
QUARANTINE_FILE = "events.jsonl"


def _received_ns(line: bytes) -> int:
    try:
        return int(json.loads(line).get("received_ns", 0) or 0)
    except (ValueError, TypeError, AttributeError):
        return 0


def prune_quarantine(now_ns: int, home: Path | None = None) -> int:
    """Drop entries older than QUARANTINE_MAX_AGE_NS, then the oldest until the file fits
    QUARANTINE_MAX_BYTES; returns how many went. Entries without a time (0) go by size."""
    path = paths.quarantine_dir(home) / QUARANTINE_FILE
    try:
        fd = paths.open_private(path, os.O_RDWR)
    except (FileNotFoundError, PermissionError, OSError):
        return 0
    try:
        size = os.fstat(fd).st_size
        with os.fdopen(os.dup(fd), "rb") as fh:
            first = fh.readline()
        oldest = _received_ns(first)
        if size <= QUARANTINE_MAX_BYTES and not 0 < oldest < now_ns - QUARANTINE_MAX_AGE_NS:
            return 0
        fcntl.flock(fd, fcntl.LOCK_EX)
        with os.fdopen(os.dup(fd), "rb") as fh:
            lines = fh.read().splitlines(keepends=True)
        cutoff = now_ns - QUARANTINE_MAX_AGE_NS
        kept = [ln for ln in lines if not 0 < _received_ns(ln) < cutoff]
        total = sum(len(ln) for ln in kept)
        start = 0
        while total > QUARANTINE_MAX_BYTES and start < len(kept):
            total -= len(kept[start])
            start += 1
        kept = kept[start:]
        data = b"".join(kept)
        os.lseek(fd, 0, os.SEEK_SET)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.ftruncate(fd, len(data))
        dropped = len(lines) - len(kept)
        if dropped:
            log.info("quarantine", f"pruned {dropped} entries (older than 7 days or past 4 MiB)")
        return dropped
    finally:
        os.close(fd)  # releases the flock
