"""Reading an agent's append-only JSONL transcript incrementally. [targets]

Both agents write their sessions as JSON lines that only grow (Codex rollouts, Claude
Code transcripts). Each target keeps a byte offset per file in its session state, so a
read touches only bytes written since the last one, and a line still being written (no
newline yet) waits for the next read. A file first seen mid-session is entered near its
end (`backscan`), so a hook late in a long session never reads the session's start.

The path comes from a hook payload, so it is opened as data, not trusted: non-blocking
and regular files only (a FIFO or a device would block the worker, which holds the
worker lock, forever), MAX_READ bytes per read; a line longer than one read is held
compacted past a few MB (longlines.py), so a 60 MB line costs no 60 MB.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import stat
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, BinaryIO

import orjson

# what a reader keeps of a value: cap(value, most), `most` the worker's ctx.max_text
from staso_otel.targets.longlines import Pending
from staso_otel.turns.state import cap  # noqa: F401 (the readers' own)

MAX_READ = 1024 * 1024  # per read(): a backlog of any size is read in pieces this big
# A turn's reader stops this long after the event that closed it: its own lines are
# written before then; later turns' lines wait for their own close.
READ_AHEAD_NS = 5 * 1_000_000_000
BACKSCAN_FIRST = 64 * 1024  # a turn at a file's end is usually smaller than this
BACKSCAN_CHUNK = 1024 * 1024
BACKSCAN_MAX = 16 * 1024 * 1024

# Bytes read from transcripts by this process: tests assert a late turn reads only its own.
stats = {"bytes_read": 0}


def parse_ts(value: Any) -> int | None:
    """ISO 8601 `2026-11-23T22:00:21.023Z` -> ns since the epoch."""
    if not isinstance(value, str):
        return None
    return _parse_iso(value)


# A line's stamp is read twice, by `_parse` (the `until_ns` stop) and by the reader that
# turns lines into facts: the second read is a lookup. Bounded, so an import of a long
# transcript holds no more than this many stamps.
@functools.lru_cache(maxsize=4096)
def _parse_iso(value: str) -> int | None:
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return int(dt.timestamp() * 1_000_000) * 1000


def open_regular(path: str) -> BinaryIO:
    """Open `path` for reading if it is a regular file; OSError otherwise. O_NONBLOCK so
    that opening a FIFO returns at once instead of waiting for a writer."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"not a regular file: {path}")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_chunks(
    path: str,
    offset: int,
    until_ns: int | None = None,
    unused: Callable[[bytes], bool] | None = None,
) -> Iterator[tuple[list[dict[str, Any]], int]]:
    """Complete JSON lines from `offset`, one read (MAX_READ bytes) at a time: yields each
    read's lines and the offset after them, up to the file's size when called, so memory
    stays one read's worth however large the backlog. A line still being written (no
    newline yet) waits for the next call; a line longer than one read is read whole; a
    line that is not a JSON object is skipped, never fatal. With `until_ns`, stops before
    the first line stamped later than it: a later turn's lines, read when that one closes,
    are not held meanwhile. A line `unused(raw)` says the reader would ignore is passed
    over undecoded (decoding is most of a read's cost, and most of a transcript's bytes
    can be lines no reader uses)."""
    try:
        with open_regular(path) as fh:
            yield from _chunks(fh, offset, until_ns, unused)
    except OSError:
        return  # gone or unreadable: the next call tries again from the same offset


def _chunks(
    fh: BinaryIO, offset: int, until_ns: int | None, unused: Callable[[bytes], bool] | None
) -> Iterator[tuple[list[dict[str, Any]], int]]:
    size = os.fstat(fh.fileno()).st_size  # bytes appended meanwhile wait for the next call
    fh.seek(offset)
    pending = Pending()
    while offset + pending.raw < size:
        data = fh.read(min(MAX_READ, size - offset - pending.raw))
        if not data:
            return
        stats["bytes_read"] += len(data)
        cut = data.rfind(b"\n") + 1
        if not cut:
            pending.add(data)  # part of a line longer than one read
            continue
        data, shrunk = pending.lines(data)
        end = data.rfind(b"\n") + 1
        pending = Pending(data[end:])
        lines, used = _parse(data, end, until_ns, unused)
        offset += used + (shrunk if used else 0)  # the file's bytes, all of them
        yield lines, offset
        if used < end:
            return  # reached a line past `until_ns`


def raw_lines(
    fh: BinaryIO,
    *,
    counted: dict[str, int] | None = None,
    rest: list[bytes] | None = None,
    size: int | None = None,
) -> Iterator[bytes]:
    """The lines of `fh` from where it stands, without their newlines, read `size` bytes
    (MAX_READ) at a time, a long one held compacted (longlines); `counted["bytes"]` grows
    by what is read; a last line with no newline goes to `rest`."""
    pending = Pending()
    while data := fh.read(size or MAX_READ):
        if counted is not None:
            counted["bytes"] += len(data)
        if b"\n" not in data:
            pending.add(data)
            continue
        whole, _ = pending.lines(data)
        end = whole.rfind(b"\n")
        pending = Pending(whole[end + 1 :])
        # find (memchr) from line to line, not split, which compares every byte in a
        # loop of its own: transcript lines are kilobytes long (3 KB on average in the
        # recorded sessions), and split took 3.5% of an import's instructions
        start = 0
        while start <= end:
            nl = whole.find(b"\n", start, end + 1)
            yield whole[start:nl]
            start = nl + 1
    if rest is not None:
        rest += pending.parts


def first_lines(path: str, most: int) -> Iterator[Any]:
    """The file's first `most` lines decoded (None: not JSON), the last one with or without
    its newline, each read as the readers read a line (a long one held compacted)."""
    rest: list[bytes] = []
    with open_regular(path) as fh:
        # a file's first lines are a few KB: a 1 MB read of each file made an import of
        # 873 files read 150 MB more, and split it
        lines = raw_lines(fh, rest=rest, size=BACKSCAN_FIRST)
        for raw in itertools.islice(lines, most):
            yield loads(raw)
            most -= 1
    if most > 0 and rest:
        yield loads(b"".join(rest))


def first_line(path: str) -> dict[str, Any] | None:
    """The file's first line if it is a JSON object of at most MAX_READ bytes (a session's
    header, for a file entered near its end), read in BACKSCAN_FIRST pieces; else None."""
    data = b""
    try:
        with open_regular(path) as fh:
            while b"\n" not in data and len(data) < MAX_READ:
                piece = fh.read(BACKSCAN_FIRST)
                if not piece:
                    break
                stats["bytes_read"] += len(piece)
                data += piece
    except OSError:
        return None
    end = data.find(b"\n")
    line = loads(data[:end]) if end >= 0 else None
    return line if isinstance(line, dict) else None


def loads(raw: bytes) -> Any:
    """orjson (several times faster on the long lines transcripts have), else the standard
    library for what orjson refuses and json reads (a lone surrogate escape, a huge int,
    NaN); None for what neither reads."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: nested ~1000 deep
        return None


def _parse(
    data: bytes, end: int, until_ns: int | None, unused: Callable[[bytes], bool] | None = None
) -> tuple[list[dict[str, Any]], int]:
    """The JSON objects in data[:end] (whole lines) and the bytes they took, stopping
    before a line stamped later than `until_ns`; `unused` lines are passed over."""
    lines: list[dict[str, Any]] = []
    pos = 0
    while pos < end:
        nl = data.index(b"\n", pos, end)
        raw = data[pos:nl]
        if unused is not None and unused(raw):
            pos = nl + 1
            continue
        line = loads(raw)
        if isinstance(line, dict):
            if until_ns is not None and (parse_ts(line.get("timestamp")) or 0) > until_ns:
                return lines, pos
            lines.append(line)
        pos = nl + 1
    return lines, pos


def backscan(path: str, needle: bytes, size: int, opener: bytes | None = None) -> int | None:
    """Where the last run of lines containing `needle` starts, read back from the end: the
    line holding `opener` too when there is one (a turn's opening line: the scan stops
    there, so a turn at the end of a long file costs about its own bytes), else the run's
    first line, the run ending where BACKSCAN_CHUNK bytes before it hold no `needle`.
    Chunks start at BACKSCAN_FIRST bytes and double up to BACKSCAN_CHUNK, and each ends
    on a line boundary, so no line is split between two; at most BACKSCAN_MAX bytes.
    None if not found."""
    found: int | None = None
    with open_regular(path) as fh:
        pos, step = size, BACKSCAN_FIRST
        while pos > 0 and size - pos < BACKSCAN_MAX and step <= BACKSCAN_MAX:
            start = max(0, pos - step)
            fh.seek(start)
            chunk = fh.read(pos - start)
            stats["bytes_read"] += len(chunk)
            cut = chunk.find(b"\n") + 1 if start else 0  # a line cut at the start: next chunk
            if start and not cut:
                step *= 2  # no line starts in it: a line longer than the chunk
                continue
            if opener is not None:
                hit = _line_with(chunk, cut, opener, needle)
                if hit is not None:
                    return start + hit
            first = chunk.find(needle, cut)
            if first >= 0:
                found = start + chunk.rfind(b"\n", 0, first) + 1
            pos = start + cut
            if found is not None and found - pos >= BACKSCAN_CHUNK:
                break  # the run began after a stretch with no `needle`
            step = min(2 * step, BACKSCAN_CHUNK)
    return found


def _line_with(chunk: bytes, lo: int, opener: bytes, needle: bytes) -> int | None:
    """The start of the last whole line in chunk[lo:] holding both `opener` and `needle`."""
    at = chunk.rfind(opener, lo)
    while at >= 0:
        start = chunk.rfind(b"\n", 0, at) + 1
        end = chunk.find(b"\n", at)
        if chunk.find(needle, start, len(chunk) if end < 0 else end) >= 0:
            return start
        at = chunk.rfind(opener, lo, start)
    return None
