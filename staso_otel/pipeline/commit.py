"""Session commits off the worker's thread: batches made durable, then the offset moved.
[export stage]

A session's pass ends with its spool batches staged (written, not yet fsynced: `Spool.
stage`) and its new state (the journal offset) in memory, with its lock held. One
background thread fsyncs and renames the batches, and only then saves the state and
releases the lock, session after session in the order they were processed, while the
worker reduces the next one: each fsync (a disk round trip, several milliseconds on a
busy disk) overlaps the worker's CPU work instead of adding to it. The ordering that
makes a crash lose nothing is the one before: a span is durable under its batch name
before its journal offset advances (docs/RELIABILITY.md).
"""

from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING

from staso_otel import log
from staso_otel.export.spool import Batch, Spool, Staged
from staso_otel.record import state

if TYPE_CHECKING:  # imported at the first commit: an idle worker start never pays for it
    from concurrent.futures import Future, ThreadPoolExecutor


class Commits:
    def __init__(self, spool: Spool) -> None:
        self.spool = spool
        self._pool: ThreadPoolExecutor | None = None
        self._pending: list[tuple[Path | None, Future[None]]] = []
        self._published = 0  # bytes published since the last wait (written by the thread)
        # batches durable with their session's offset saved, oldest first: the worker may
        # send them while it reduces the next sessions (appended by the thread)
        self._durable: deque[Path] = deque()

    def submit(self, journal: Path, staged: list[Staged], held: state.Held) -> None:
        """Publish `staged`, then save and release `held`, on the commit thread."""
        self._pending.append((journal, self._thread().submit(self._commit, staged, held)))

    def delete(self, batch: Batch) -> None:
        """Delete a delivered batch on the commit thread: on a busy disk an unlink waits
        for the filesystem's journal, milliseconds the next request need not wait."""
        self.spool.forget(batch.path)
        self._pending.append((None, self._thread().submit(batch.path.unlink, missing_ok=True)))

    def _thread(self) -> ThreadPoolExecutor:
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(1, thread_name_prefix="staso-commit")
        return self._pool

    def _commit(self, staged: list[Staged], held: state.Held) -> None:
        try:
            for one in staged:
                self.spool.publish(one)
                self._published += one.size
            state.save(held)
            self._durable.extend(one.path for one in staged)
        except BaseException:
            self.spool.discard(staged)  # not published: the records are read again
            raise
        finally:
            state.release(held)

    def durable(self) -> list[Path]:
        """The batches committed since the last call, in the order they were committed."""
        out = []
        while self._durable:
            out.append(self._durable.popleft())
        return out

    def wait(self) -> set[Path]:
        """Wait for every commit and delete submitted; returns the journals whose commit
        failed (logged: their offsets did not move, so their records are read again)."""
        failed: set[Path] = set()
        pending, self._pending = self._pending, []
        for journal, future in pending:
            try:
                future.result()
            except Exception:
                log.internal_error("worker")
                if journal is not None:
                    failed.add(journal)
        published, self._published = self._published, 0
        if published:
            self.spool.count_written(published)  # the spool's bound, on this thread
        return failed

    def close(self) -> None:
        self.wait()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
