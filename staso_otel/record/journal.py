"""Per-session append-only journals: what each hook received, stamped with its time. [stdlib]

Appending lives in `append.py` (the hook's lean write path); this module reads and
offers Path-based wrappers. A record is one JSON line
`{"v":1,"target":…,"received_ns":…,"payload":<raw event>}`.
The hook records what arrived and decides nothing; the worker interprets records later,
so a fix in a target's reconstruction can replay old journals.

Concurrency: Codex runs the hooks of parallel tool calls at the same time, so appends
happen under `fcntl.flock` on the journal itself, each record in one locked write loop.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from staso_otel import log, paths
from staso_otel.record import append as append_mod


@dataclass(frozen=True)
class Record:
    target: str
    received_ns: int
    payload: dict[str, Any]
    offset: int = 0  # byte offset of the line in its journal
    end: int = 0  # byte offset just past the line


def _home(home: Path | None) -> str | None:
    return None if home is None else str(home)


def journal_path(target: str, session_id: str, home: Path | None = None) -> Path:
    return Path(append_mod.journal_path(target, session_id, _home(home)))


def append(
    target: str, session_id: str, received_ns: int, raw_payload: bytes, home: Path | None = None
) -> Path:
    return Path(append_mod.append(target, session_id, received_ns, raw_payload, _home(home)))


def append_record(
    target: str,
    session_id: str,
    received_ns: int,
    payload: dict[str, Any],
    home: Path | None = None,
) -> Path:
    """Append a payload given as a dict (replay, tests, the library API)."""
    raw = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return append(target, session_id, received_ns, raw, home)


def quarantine(
    target: str, received_ns: int, raw: bytes, reason: str, home: Path | None = None
) -> None:
    append_mod.quarantine(target, received_ns, raw, reason, _home(home))


def read(path: Path, offset: int = 0, limit_bytes: int | None = None) -> Iterator[Record]:
    """Records from `offset` on. A last line without its newline is still being written:
    it is left for the next read. A line that is not a record is logged and skipped."""
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed in finally; generator
    except FileNotFoundError:
        return
    try:
        fh.seek(offset)
        position = offset
        read_so_far = 0
        for line in fh:
            if not line.endswith(b"\n"):
                break
            start, position = position, position + len(line)
            read_so_far += len(line)
            record = _decode(line, path, start)
            if record is not None:
                yield Record(record.target, record.received_ns, record.payload, start, position)
            if limit_bytes is not None and read_so_far >= limit_bytes:
                break
    finally:
        fh.close()


def read_batch(path: Path, offset: int, limit_bytes: int) -> tuple[list[Record], int]:
    """Up to ~limit_bytes of records from `offset`, and the offset consumed, which also
    moves past corrupt lines (so a bad line is logged once, not on every pass)."""
    records: list[Record] = []
    end = offset
    try:
        fh = open(path, "rb")  # noqa: SIM115
    except FileNotFoundError:
        return records, offset
    with fh:
        fh.seek(offset)
        for line in fh:
            if not line.endswith(b"\n"):
                break
            start, end = end, end + len(line)
            record = _decode(line, path, start)
            if record is not None:
                records.append(
                    Record(record.target, record.received_ns, record.payload, start, end)
                )
            if end - offset >= limit_bytes:
                break
    return records, end


def _decode(line: bytes, path: Path, offset: int) -> Record | None:
    try:
        data = json.loads(line)
        if not isinstance(data, dict) or not isinstance(data.get("payload"), dict):
            raise ValueError("not a record object")
        return Record(str(data["target"]), int(data["received_ns"]), data["payload"])
    except (ValueError, KeyError, TypeError) as exc:
        log.warning("journal", f"skipped corrupt line at {path.name}:{offset}: {exc}")
        return None


def journals(home: Path | None = None) -> Iterator[tuple[str, Path]]:
    """(target, path) of every journal."""
    root = paths.journal_dir(home)
    try:
        targets = sorted(os.scandir(root), key=lambda e: e.name)
    except FileNotFoundError:
        return
    for target_dir in targets:
        if not target_dir.is_dir(follow_symlinks=False):
            continue
        for entry in sorted(os.scandir(target_dir.path), key=lambda e: e.name):
            if entry.name.endswith(".jsonl") and entry.is_file(follow_symlinks=False):
                yield target_dir.name, Path(entry.path)
