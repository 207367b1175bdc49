"""Which turns have been spooled for export, per session: what `staso import` skips. [export]

A session traced live and later imported (or imported twice) must not be exported twice.
Ids alone do not prevent that (a backend that does not de-duplicate by id shows both), so
whoever spools spans, the worker and `staso import`, notes here the root span id of each
unit it spooled: a turn's root (`invoke_agent <agent>`) or a sub-agent run's
(`invoke_agent <type>`). A unit is built and spooled whole, so its root stands for it.

The sessions share 16 append-only files per target, `STASO_HOME/ledger/<target>/shard-<x>.ids`
(`x` from a CRC of the session's file name), one `<16-hex-digit span id> <session>` line a
unit. A file per session (what releases before 12-02 wrote, `<session>.ids`) cost a file
creation per session: on a filesystem with heavy recent churn (a spool's), a creation took
0.3-1 ms, a quarter of an import's time; so did 256 shards (12-02's, `<xx>.ids`) in a
fresh STASO_HOME, where a first import of a few hundred sessions created all 512 of two
targets' (a tenth of its time). Both older layouts are still read. A shard holds a
sixteenth of every session's units; a session's lines in it are found with bytes.find,
not by splitting every line (a year of a heavy user's turns is about 1 MB a shard). The
ledger is kept after the journal is gone: it is what still knows, weeks later, that a
session was traced live.
Spooled counts as exported: the spool is durable and retried, and a span it finally drops
is counted in `staso flush` as lost, not re-sent by an import.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path

from staso_otel import paths
from staso_otel import semconv as sc
from staso_otel.record.append import session_file_name
from staso_otel.span.model import SpanData

SHARDS = 16
Units = dict[tuple[str, str], list[int]]  # (target, session) -> unit root span ids
LEGACY_SHARDS = 256  # 12-02's layout, read not written


def _key(session_id: str) -> str:
    return session_file_name(session_id).removesuffix(".jsonl")  # no space, no newline


def _crc(session_id: str) -> int:
    return zlib.crc32(_key(session_id).encode())


def shard_path(target: str, session_id: str, home: Path | None = None) -> Path:
    """The shared file this session's units are noted in."""
    shard = _crc(session_id) % SHARDS
    return (home or paths.staso_home()) / "ledger" / target / f"shard-{shard:x}.ids"


def legacy_shard_path(target: str, session_id: str, home: Path | None = None) -> Path:
    """Where 12-02's release noted this session's units, in one of 256 shards (read)."""
    shard = _crc(session_id) % LEGACY_SHARDS
    return (home or paths.staso_home()) / "ledger" / target / f"{shard:02x}.ids"


def ledger_path(target: str, session_id: str, home: Path | None = None) -> Path:
    """The session's own file, as releases before the shards wrote it (read, not written)."""
    return (home or paths.staso_home()) / "ledger" / target / f"{_key(session_id)}.ids"


def is_unit_root(span: SpanData) -> bool:
    return span.attributes.get(sc.GEN_AI_OPERATION_NAME) == sc.OP_INVOKE_AGENT


def roots(spans: Iterable[SpanData]) -> Units:
    """(target, session) -> the unit roots among `spans`."""
    out: Units = {}
    for span in spans:
        session = span.attributes.get(sc.SESSION_ID)
        if is_unit_root(span) and isinstance(session, str) and span.target:
            out.setdefault((span.target, session), []).append(span.span_id)
    return out


def note(spans: Iterable[SpanData], home: Path | None = None) -> None:
    """Record the unit roots of spans just spooled."""
    note_roots(roots(spans), home)


def note_roots(units: Units, home: Path | None = None) -> None:
    """Record unit roots (as `roots` finds them): one append per shard, whole lines in one
    write, so the worker and an import appending to one shard do not interleave."""
    lines: dict[Path, list[str]] = {}
    for (target, session), ids in units.items():
        key = _key(session)
        lines.setdefault(shard_path(target, session, home), []).extend(
            f"{i:016x} {key}\n" for i in ids
        )
    for folder in {path.parent for path in lines}:  # one check of the folders, not per session
        paths.ensure_dir(folder)
    for path, text in lines.items():
        fd = paths.open_private(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        try:
            os.write(fd, "".join(text).encode())
        finally:
            os.close(fd)


def known(target: str, session_id: str, home: Path | None = None) -> set[int]:
    """The unit roots already spooled for this session (empty if none)."""
    key = _key(session_id).encode()
    out: set[int] = set()
    for path in (shard_path(target, session_id, home), legacy_shard_path(target, session_id, home)):
        try:
            data = path.read_bytes()
        except OSError:
            continue
        out.update(_units_of(data, key))
    try:
        old = ledger_path(target, session_id, home).read_bytes()
    except OSError:
        return out
    for line in old.split(b"\n"):
        out.update(_ids(line))
    return out


def _units_of(data: bytes, key: bytes) -> Iterator[int]:
    """The unit ids on the lines `<16 hex digits> <key>` of a shard. A torn line (a writer
    killed mid-append, another line glued to it) fails the shape: that unit is re-sent,
    nothing else."""
    tail = b" " + key + b"\n"
    at = data.find(tail)
    while at >= 0:
        start = at - 16
        if start == 0 or (start > 0 and data[start - 1] == 0x0A):  # 0x0A: the line before ends
            yield from _ids(data[start:at])
        at = data.find(tail, at + len(tail))


def _ids(text: bytes) -> list[int]:
    try:
        return [int(text, 16)]
    except ValueError:
        return []
