"""The durable outbox: span batches on disk until the backend says SUCCESS. [export stage]

A batch is one file `spool/<name>.batch`: a header line (attempts, next_attempt_ns, last
error) then one SpanData JSON per line. Files are written atomically, so a batch is
whole or absent; a batch is deleted only after a successful export. Names are
deterministic (target, session, journal offset): re-processing after a crash rewrites
the same batch instead of adding a duplicate. Rejected batches (4xx other than
408/413/429, and redirects) move to `spool/parked/`, with a next attempt an hour later
(`PARK_RETRY_S`) that the worker honours, and are retried by `staso flush` at once.

The spool is bounded (setting spool_max_bytes): past the bound the oldest batches are
dropped and the loss is logged and counted (`losses`, shown by `staso status` and `staso
flush`) — an explicit policy instead of a full disk. A string that is not valid Unicode (a
lone surrogate: Node writes one for an emoji cut in half) is repaired with U+FFFD on the
way in, so one bad character cannot make a whole batch unwritable.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson

from staso_otel import log, paths
from staso_otel.export import losses
from staso_otel.span.model import SpanData

SUFFIX = ".batch"
PARKED = "parked"
PARK_RETRY_S = 3600  # a rejected batch is tried again hourly (a key or endpoint fixed)
_SURROGATE = re.compile("[\ud800-\udfff]")
REPAIR_CAUSE = "lone surrogates replaced with U+FFFD"
# The bound is checked against a running total of the bytes this Spool wrote, counted
# again from the folder at most this often, or when the total passes the bound: a count
# per write (a scan and a stat of every batch) made spooling N batches cost N^2. The
# recount catches what other processes (the library's durable mode) spooled meanwhile.
RECOUNT_S = 1.0
# Batches the worker staged are kept in memory for their first send (it spools a
# session's spans, then sends them: reading them back cost a fifth of the send), up to
# this many bytes as written; a batch changed on disk meanwhile is read from disk. `write`
# keeps one only when asked (`staso import` sends what it wrote next, on its send thread;
# the library's durable mode does not send what it writes).
WRITTEN_CACHE_BYTES = 4 * 1024 * 1024


@dataclass
class Staged:
    """A batch written under a temporary name (`.<name>.batch.<pid>.staged`), not yet
    durable nor visible: `Spool.publish` fsyncs and renames it, off the caller's thread."""

    tmp: Path
    path: Path
    size: int


STAGED_SUFFIX = ".staged"


@dataclass
class Batch:
    path: Path
    spans: list[SpanData]
    attempts: int = 0
    next_attempt_ns: int = 0
    last_error: str | None = None

    @property
    def name(self) -> str:
        return self.path.name.removesuffix(SUFFIX)


class Spool:
    def __init__(self, home: Path | None = None, max_bytes: int | None = None) -> None:
        self.home = home
        self.root = paths.spool_dir(home)
        self.max_bytes = max_bytes
        self._used: int | None = None  # bytes at the last count, plus what was written since
        self._counted_at = 0.0
        # path -> (inode, mtime, size) as written, the batch, its size (WRITTEN_CACHE_BYTES)
        self._written: dict[Path, tuple[tuple[int, int, int], Batch, int]] = {}
        self._written_bytes = 0
        # the import writes on its thread and sends on another; re-entrant: _remember forgets
        self._written_lock = threading.RLock()

    @property
    def parked_dir(self) -> Path:
        return self.root / PARKED

    def write(self, name: str, spans: Iterable[SpanData], *, remember: bool = False) -> Path | None:
        """Write a batch durably (fsync before the rename); returns its path. With
        `remember`, it is kept in memory for its first send, as `stage` keeps one."""
        staged = self._stage(name, spans, remember=remember)
        if staged is None:
            return None
        self.publish(staged)
        self.count_written(staged.size)
        return staged.path

    def stage(self, name: str, spans: Iterable[SpanData]) -> Staged | None:
        """Write a batch under a temporary name, not fsynced: the worker fsyncs a session's
        batches on another thread while it reduces the next session (`publish`), and moves
        that session's journal offset only after. The bound counts it once published
        (`count_written`). It is kept in memory for its first send (WRITTEN_CACHE_BYTES)."""
        return self._stage(name, spans, remember=True)

    def _stage(
        self, name: str, spans: Iterable[SpanData], *, remember: bool = False
    ) -> Staged | None:
        spans = list(spans)
        if not spans:
            return None
        paths.ensure_dir(self.root)
        path = self.root / f"{_safe(name)}{SUFFIX}"
        batch = Batch(path, spans)
        data, exact = self._encode(batch)
        paths.refuse_symlinks(path)
        tmp = self.root / f".{path.name}.{os.getpid()}{STAGED_SUFFIX}"
        fd = paths.open_private(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                st = os.fstat(fh.fileno())
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        if exact and remember:  # the rename keeps inode, mtime and size
            self._remember(batch, len(data), (st.st_ino, st.st_mtime_ns, st.st_size))
        return Staged(tmp, path, len(data))

    def publish(self, staged: Staged) -> None:
        """Make a staged batch durable, then visible under its name (thread-safe)."""
        try:
            fd = os.open(staged.tmp, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(staged.tmp, staged.path)
        except BaseException:
            self.discard([staged])
            raise

    def discard(self, staged: Iterable[Staged]) -> None:
        """Remove staged batches that will not be published (their records are read again)."""
        for one in staged:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(one.tmp)

    def remove_orphans(self) -> int:
        """Staged files of processes no longer running (killed before publishing): their
        sessions' offsets never moved, so their spans are spooled again; returns how many."""
        removed = 0
        try:
            entries = list(os.scandir(self.root))
        except FileNotFoundError:
            return 0
        for entry in entries:
            if not entry.name.endswith(STAGED_SUFFIX):
                continue
            pid = entry.name.removesuffix(STAGED_SUFFIX).rpartition(".")[2]
            if pid.isdigit() and _alive(int(pid)):
                continue
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.path)
                removed += 1
        return removed

    def count_written(self, size: int) -> None:
        """Count bytes published against the bound; past it, drop the oldest batches."""
        if self.max_bytes:
            self._used = None if self._used is None else self._used + size
            due = time.monotonic() - self._counted_at > RECOUNT_S
            if self._used is None or self._used > self.max_bytes or due:
                self.enforce_bound(self.max_bytes)

    def _rewrite(self, batch: Batch) -> bool:
        """Save a new header or span list over a batch already on disk; False when the
        batch is gone meanwhile (another process's bound dropped it, or `staso uninstall
        --purge` removed the spool while a send was in flight): it is not brought back,
        and neither are the folders above it."""
        if not batch.path.exists():
            return False
        try:
            self._save(batch, make_dirs=False)
        except FileNotFoundError:
            return False
        return True

    def _save(self, batch: Batch, *, make_dirs: bool = True) -> int:
        data, _ = self._encode(batch)
        paths.atomic_write(batch.path, data, make_dirs=make_dirs)
        return len(data)

    def _encode(self, batch: Batch) -> tuple[bytes, bool]:
        """The batch's file, and whether every span is in it as it is (none repaired or
        dropped: what is read back equals what is in memory)."""
        header = {
            "attempts": batch.attempts,
            "next_attempt_ns": batch.next_attempt_ns,
            "last_error": batch.last_error,
            "spans": len(batch.spans),
        }
        lines = [orjson.dumps({"header": header})]
        exact = True
        for span in batch.spans:
            line, as_is = self._line(span)
            exact = exact and as_is
            if line:
                lines.append(line)
        return b"\n".join(lines) + b"\n", exact

    def _line(self, span: SpanData) -> tuple[bytes | None, bool]:
        """The span's line, and whether it is the span as it is (not repaired, not dropped)."""
        data = span.to_dict()
        try:
            return orjson.dumps(data), True
        except TypeError:  # orjson refuses lone surrogates (and absurd nesting)
            pass
        try:
            line = orjson.dumps(_repaired(data))
        except (TypeError, RecursionError) as exc:
            log.warning("spool", f"dropped span {span.name!r}: cannot be written: {exc}")
            losses.add(losses.DROPPED, "span cannot be serialized", 1, self.home)
            return None, False
        log.warning("spool", f"span {span.name!r}: {REPAIR_CAUSE}")
        losses.add(losses.REPAIRED, REPAIR_CAUSE, 1, self.home)
        return line, False

    def _remember(self, batch: Batch, size: int, stat: tuple[int, int, int]) -> None:
        """Keep a batch just staged for its first send, while the batches kept fit in
        WRITTEN_CACHE_BYTES: the oldest are kept, as they are sent first."""
        with self._written_lock:
            self.forget(batch.path)
            if self._written_bytes + size > WRITTEN_CACHE_BYTES:
                return
            self._written[batch.path] = (stat, batch, size)
            self._written_bytes += size

    def forget(self, path: Path) -> tuple[tuple[int, int, int], Batch, int] | None:
        """Drop what is kept in memory of a batch (it was sent, or is being deleted)."""
        with self._written_lock:
            kept = self._written.pop(path, None)
            if kept is not None:
                self._written_bytes -= kept[2]
        return kept

    def _recall(self, path: Path) -> Batch | None:
        """The batch as this Spool wrote it, if the file is still exactly that one (once:
        a batch sent again after a failure is read from disk)."""
        kept = self.forget(path)
        if kept is None:
            return None
        try:
            st = os.stat(path)
        except OSError:
            return None
        return kept[1] if (st.st_ino, st.st_mtime_ns, st.st_size) == kept[0] else None

    def load(self, path: Path) -> Batch | None:
        """Read a batch; corrupt span lines are skipped with a log line, the rest kept."""
        kept = self._recall(path)
        if kept is not None:
            return kept
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        batch = Batch(path, [])
        corrupt, rewrite = 0, False
        for number, line in enumerate(raw.splitlines()):
            if not line.strip():
                continue
            try:
                data = orjson.loads(line)
                if number == 0 and isinstance(data, dict) and "header" in data:
                    header = data["header"]
                    batch.attempts = int(header.get("attempts", 0))
                    batch.next_attempt_ns = int(header.get("next_attempt_ns", 0))
                    batch.last_error = header.get("last_error")
                    continue
                batch.spans.append(SpanData.from_dict(data))
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                log.warning("spool", f"skipped corrupt line {number} of {path.name}: {exc}")
                corrupt += 1 if number else 0
                rewrite = True
        if rewrite:
            # count each bad line once: rewrite the batch without them
            losses.add(losses.DROPPED, "corrupt spool line", corrupt, self.home)
            with contextlib.suppress(OSError):
                self._rewrite(batch)
        return batch

    def batches(self, *, parked: bool = False) -> Iterator[Path]:
        """Batch files, oldest first."""
        folder = self.parked_dir if parked else self.root
        try:
            entries = [
                e
                for e in os.scandir(folder)
                if e.name.endswith(SUFFIX) and e.is_file(follow_symlinks=False)
            ]
        except FileNotFoundError:
            return
        entries.sort(key=lambda e: (e.stat().st_mtime_ns, e.name))
        for entry in entries:
            yield Path(entry.path)

    def delete(self, batch: Batch) -> None:
        batch.path.unlink(missing_ok=True)
        self.forget(batch.path)

    def replace_spans(self, batch: Batch, spans: list[SpanData]) -> None:
        """Keep only `spans` (the part of a split batch that is not yet delivered)."""
        batch.spans = spans
        if spans:
            self._rewrite(batch)
        else:
            self.delete(batch)

    def defer(self, batch: Batch, next_attempt_ns: int, error: str) -> None:
        batch.attempts += 1
        batch.next_attempt_ns = next_attempt_ns
        batch.last_error = error[:500]
        self._rewrite(batch)

    def park(self, batch: Batch, error: str, now_ns: int) -> None:
        if not self.root.is_dir():
            return  # the spool was removed while the batch was out: nothing to park
        paths.ensure_dir(self.parked_dir)
        batch.last_error = error[:500]
        batch.attempts += 1
        batch.next_attempt_ns = now_ns + PARK_RETRY_S * 10**9
        target = self.parked_dir / batch.path.name
        if not self._rewrite(batch):
            return
        os.replace(batch.path, target)
        batch.path = target
        log.warning("spool", f"parked {batch.name} ({len(batch.spans)} spans): {error}")

    def unpark_due(self, now_ns: int) -> int:
        return self.unpark_all(due_by_ns=now_ns)

    def unpark_all(self, due_by_ns: int | None = None) -> int:
        """Move parked batches back to be sent: all, or those due by `due_by_ns`."""
        moved = 0
        for path in list(self.batches(parked=True)):
            if due_by_ns is not None and self._header(path).get("next_attempt_ns", 0) > due_by_ns:
                continue
            with contextlib.suppress(FileNotFoundError):
                os.replace(path, self.root / path.name)
                moved += 1
        return moved

    def _header(self, path: Path) -> dict:
        try:
            with open(path, "rb") as fh:
                header = orjson.loads(fh.readline())["header"]
            return header if isinstance(header, dict) else {}
        except (OSError, ValueError, KeyError, TypeError, orjson.JSONDecodeError):
            return {}

    def next_due_ns(self) -> int | None:
        """When the earliest batch (waiting or parked) is due; None if the spool is empty."""
        due = [
            int(self._header(path).get("next_attempt_ns", 0) or 0)
            for parked in (False, True)
            for path in self.batches(parked=parked)
        ]
        return min(due) if due else None

    def usage(self) -> dict[str, int]:
        """Counts for `staso status` / `staso flush`: batches, spans, bytes (waiting, parked)."""
        out = {"batches": 0, "spans": 0, "bytes": 0, "parked_batches": 0, "parked_spans": 0}
        for parked in (False, True):
            for path in self.batches(parked=parked):
                try:
                    size = path.stat().st_size
                    with open(path, "rb") as fh:
                        spans = int(orjson.loads(fh.readline())["header"]["spans"])
                except (OSError, ValueError, KeyError, TypeError, orjson.JSONDecodeError):
                    spans = 0
                if parked:
                    out["parked_batches"] += 1
                    out["parked_spans"] += spans
                else:
                    out["batches"] += 1
                    out["spans"] += spans
                out["bytes"] += size
        return out

    def enforce_bound(self, max_bytes: int) -> int:
        """Drop the oldest batches (parked first) until the spool fits; returns spans dropped."""
        files = [p for parked in (True, False) for p in self.batches(parked=parked)]
        sizes = {}
        for path in files:
            with contextlib.suppress(FileNotFoundError):
                sizes[path] = path.stat().st_size
        total = sum(sizes.values())
        dropped_batches = dropped_spans = 0
        for path in files:
            if total <= max_bytes:
                break
            batch = self.load(path)
            path.unlink(missing_ok=True)
            total -= sizes.get(path, 0)
            dropped_batches += 1
            dropped_spans += len(batch.spans) if batch else 0
        self._used, self._counted_at = total, time.monotonic()
        if dropped_batches:
            losses.add(
                losses.DROPPED,
                f"spool over its bound of {max_bytes} bytes",
                dropped_spans,
                self.home,
            )
            log.warning(
                "spool",
                f"spool over its bound of {max_bytes} bytes: dropped the oldest "
                f"{dropped_batches} batches ({dropped_spans} spans)",
            )
        return dropped_spans


def _repaired(value: object) -> object:
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_repaired(k): _repaired(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_repaired(v) for v in value]
    return value


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name)[:200]
