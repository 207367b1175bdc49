"""Per-session append-only journals: what each hook received, stamped with its time. [record]

Appending lives in `append.py` (the hook's lean write path); this module reads and
offers Path-based wrappers. A record is one JSON line
`{"v":1,"target":…,"received_ns":…,"payload":<raw event>}`, and starts on a fresh line
(a writer killed mid-append leaves a torn line; the reader skips it and goes on at the
next newline).
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

import orjson

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
    records, _ = _read(path, offset, limit_bytes, quarantine_bad=False)
    yield from records


def read_batch(path: Path, offset: int, limit_bytes: int) -> tuple[list[Record], int]:
    """Up to ~limit_bytes of records from `offset`, and the offset consumed, which also
    moves past bad lines (so a bad line is logged and quarantined once, not every pass)."""
    return _read(path, offset, limit_bytes, quarantine_bad=True)


def _read(
    path: Path, offset: int, limit_bytes: int | None, *, quarantine_bad: bool
) -> tuple[list[Record], int]:
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
            if line.strip():  # blank: the newline a writer put after a torn line
                record = _decode_line(line, path, start, quarantine_bad)
                if record is not None:
                    records.append(record)
            if limit_bytes is not None and end - offset >= limit_bytes:
                break
    return records, end


def _decode_line(line: bytes, path: Path, offset: int, quarantine_bad: bool) -> Record | None:
    """The line's record; else the record glued onto a torn one (the previous release
    appended after a torn line without a newline first), else None, logged."""
    record, error = _decode(line, offset, offset + len(line))
    if record is not None:
        return record
    # A record cannot start inside a JSON string (its quotes would be escaped), and only the
    # glued record's own start decodes through to the end of the line.
    at = line.find(RECORD_START, 1)
    while at > 0:
        glued, _ = _decode(line[at:])
        if glued is not None:
            log.warning("journal", f"torn record at {path.name}:{offset} skipped, next one kept")
            _keep_bad(path, line[:at], "torn record", quarantine_bad)
            return Record(
                glued.target, glued.received_ns, glued.payload, offset + at, offset + len(line)
            )
        at = line.find(RECORD_START, at + 1)
    log.warning("journal", f"skipped corrupt line at {path.name}:{offset}: {error}")
    _keep_bad(path, line, f"corrupt journal line: {error}", quarantine_bad)
    stats["skipped"] += 1
    return None


RECORD_START = b'{"v":'
# Lines skipped as unreadable by this process, for the worker's loss counts.
stats = {"skipped": 0}


def _decode(line: bytes, offset: int = 0, end: int = 0) -> tuple[Record | None, str]:
    try:
        try:
            data = orjson.loads(line)  # several times faster on the long lines hooks get
        except orjson.JSONDecodeError:
            # what orjson refuses and json reads (a lone surrogate escape, NaN, a huge
            # int), and json's own message for what neither reads
            data = json.loads(line)
        if not isinstance(data, dict) or not isinstance(data.get("payload"), dict):
            raise ValueError("not a record object")
        payload = data["payload"]
        return Record(str(data["target"]), int(data["received_ns"]), payload, offset, end), ""
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        # RecursionError: JSON nested ~1000 deep; it costs the one record, not the session
        return None, str(exc)


def _keep_bad(path: Path, raw: bytes, reason: str, quarantine_bad: bool) -> None:
    """Quarantine what could not be read, so a bug report has the evidence."""
    if quarantine_bad:
        home = path.parent.parent.parent  # STASO_HOME/journal/<target>/<session>.jsonl
        append_mod.quarantine(path.parent.name, 0, raw.strip(), reason, str(home))


TORN_TAIL_GRACE_NS = 60 * 1_000_000_000


def torn_tail(path: Path, offset: int, now_ns: int) -> int:
    """Bytes from `offset` to the end that are a line without its newline, left there
    longer than TORN_TAIL_GRACE_NS, else 0. A hook writes a record in one locked loop,
    in milliseconds; a tail unfinished a minute later belongs to a writer that died (or
    a disk that filled), and waiting for it kept the worker and the session for ever."""
    try:
        with open(path, "rb") as fh:
            stat = os.fstat(fh.fileno())
            if now_ns - stat.st_mtime_ns <= TORN_TAIL_GRACE_NS:
                return 0
            fh.seek(offset)
            tail = fh.read()
    except FileNotFoundError:
        return 0
    if not tail or b"\n" in tail:
        return 0
    log.warning("journal", f"unfinished last line at {path.name}:{offset} skipped")
    _keep_bad(path, tail, "unfinished last line", True)
    return len(tail)


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
