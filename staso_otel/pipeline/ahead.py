"""A backlog reduced in a second process, beside the worker: two cores for many sessions.
[export stage]

A worker that finds many sessions waiting (it was down, or many agents stopped at once)
spends about half its time in the turn kernel (`session.reduce`: journal, target, span
building) and half shipping (redaction, spool, commit, encoding, HTTP), one at a time in
one Python process whatever its threads. With a core free, a child process
(`python -m staso_otel.pipeline.ahead`) reduces sessions the worker hands it, a few
ahead, and sends back each batch of spans and the session's new state; the worker ships
them as it ships its own, and reduces sessions itself whenever the child has nothing
ready. The child writes nothing but the log: the worker holds each session's lock while
the child works on it and moves the offset only once the batches are durable, so a child
that dies, hangs or is killed changes nothing, and the sessions it held are reduced by
the worker itself.

Frames on both pipes: a 4-byte little-endian length, then a pickle (parent and child are
the same install).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import struct
import sys
import threading
import time
from pathlib import Path
from queue import SimpleQueue
from typing import Any, BinaryIO

from staso_otel import cores, subproc

# Fewer sessions than this are shipped faster than a child starts (an interpreter and
# the kernel's imports, about 0.1 s of CPU on the other core).
MIN_SESSIONS = 24
WINDOW = 8  # sessions handed to the child and not yet back (their locks held meanwhile)
PIPE_BYTES = 1024 * 1024
SILENCE_S = 60.0  # a child that says nothing this long is stopped; its sessions redone
_HEAD = struct.Struct("<I")


def worth_it(sessions: int) -> bool:
    return sessions >= MIN_SESSIONS and os.name == "posix" and cores.free() >= 1


class Child:
    """The worker's end: hand sessions over, read back what came of them."""

    def __init__(self, home: Path) -> None:
        import subprocess  # here: a cold worker with one session to send never loads it

        read_fd, write_fd = os.pipe()
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "staso_otel.pipeline.ahead", str(write_fd), str(home)],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                pass_fds=(write_fd,),
            )
        except BaseException:
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)  # the child's end: its exit reads as EOF here
        subproc.widen(read_fd, PIPE_BYTES)
        self._fd = read_fd
        self._buf = bytearray()
        self._eof = False
        # Jobs are written on a thread: a child that stopped reading (wedged) must cost a
        # silent `read`, not a worker blocked on a full pipe.
        self._jobs: SimpleQueue[object] = SimpleQueue()
        threading.Thread(target=self._give, daemon=True, name="staso-ahead").start()

    def prepare(self, states: list[Path]) -> None:
        """Have the child make these sessions' lock files first, while this process does
        the sessions before them (each creation 0.3 ms or more of this busier process)."""
        self._jobs.put(pickle.dumps(("locks", [str(p) for p in states]), pickle.HIGHEST_PROTOCOL))

    def submit(self, target_name: str, path: Path, ctx: Any, st: dict) -> None:
        """Hand one session over (a copy of its state: the caller's is left as it is)."""
        job = ("reduce", target_name, str(path), ctx, st)
        self._jobs.put(pickle.dumps(job, pickle.HIGHEST_PROTOCOL))

    def _give(self) -> None:
        stdin = self._proc.stdin
        assert stdin is not None
        try:
            while (job := self._jobs.get()) is not None:
                stdin.write(_HEAD.pack(len(job)) + job)  # type: ignore[arg-type]
                stdin.flush()
        except (OSError, ValueError):
            pass  # the child is gone: `read` says so
        finally:
            with contextlib.suppress(OSError, ValueError):
                stdin.close()

    def ready(self) -> bool:
        """A whole message is here (or the child is gone): `read` will not wait."""
        return self._whole() is not None or self._fill(0.0) or self._eof

    def read(self, timeout_s: float | None = None) -> tuple | None:
        """The next message: ("spans", name, redacted spans, their unit roots), ("done",
        st, reduced) or ("failed",); None if the child is gone or silent for `timeout_s`
        (SILENCE_S)."""
        deadline = time.monotonic() + (SILENCE_S if timeout_s is None else timeout_s)
        while (size := self._whole()) is None:
            left = deadline - time.monotonic()
            if left <= 0 or not self._fill(left):
                return None
        frame = bytes(self._buf[_HEAD.size : _HEAD.size + size])
        del self._buf[: _HEAD.size + size]
        try:
            return pickle.loads(frame)
        except Exception:  # a child that wrote garbage is a child gone
            return None

    def close(self, *, finished: bool) -> None:
        """Let the child exit once its jobs are done; stopped at once if not `finished`
        (the worker redoes what it held)."""
        if not finished:
            self._proc.kill()
        self._jobs.put(None)  # the writer closes the child's stdin: it exits when done
        import subprocess

        try:
            self._proc.wait(5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        os.close(self._fd)

    def _whole(self) -> int | None:
        if len(self._buf) < _HEAD.size:
            return None
        (size,) = _HEAD.unpack_from(self._buf)
        return size if len(self._buf) >= _HEAD.size + size else None

    def _fill(self, timeout_s: float) -> bool:
        """Read what the child wrote, waiting up to `timeout_s`; False if nothing came."""
        if self._eof:
            return False
        readable, _, _ = select.select([self._fd], [], [], timeout_s)
        if not readable:
            return False
        data = os.read(self._fd, 1 << 20)
        if not data:
            self._eof = True
            return False
        self._buf += data
        return True


def _write(out: BinaryIO, message: object) -> None:
    """One frame (the child's side)."""
    data = pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
    out.write(_HEAD.pack(len(data)) + data)
    out.flush()


def _read(source: BinaryIO) -> object | None:
    head = source.read(_HEAD.size)
    if len(head) < _HEAD.size:
        return None
    (size,) = _HEAD.unpack(head)
    data = source.read(size)
    return pickle.loads(data) if len(data) == size else None


def _serve(jobs: BinaryIO, out: BinaryIO, home: Path) -> None:
    """The child: each session handed over, reduced in order, its batches (redacted, as
    the worker's spool_spans would) then its state sent back. Its jobs are read on a
    thread of their own, so the worker never waits to hand one over while this process
    waits for the worker to read its answers."""
    from staso_otel import log
    from staso_otel.export import ledger
    from staso_otel.pipeline import session
    from staso_otel.record import state
    from staso_otel.span.redact import Memo, redact_spans

    queue: SimpleQueue[object] = SimpleQueue()
    memo = Memo()  # as the worker's: texts met again across the sessions are looked up

    def take() -> None:
        while (job := _read(jobs)) is not None:
            queue.put(job)
        queue.put(None)

    threading.Thread(target=take, daemon=True).start()
    while (job := queue.get()) is not None:
        if job[0] == "locks":  # type: ignore[index]
            for spath in job[1]:  # type: ignore[index]
                with contextlib.suppress(OSError):  # the worker makes any missing itself
                    state.make_lock(Path(spath))
            continue
        _, target_name, path, ctx, st = job  # type: ignore[misc]

        def emit(name: str, spans: list, cap: int = ctx.max_attribute_bytes) -> None:
            # redacted here too: the worker is the busier of the two
            clean = redact_spans(spans, cap, memo) if spans else spans
            _write(out, ("spans", name, clean, ledger.roots(spans)))

        try:
            done = session.reduce(target_name, Path(path), ctx, st, emit, home)
        except Exception:
            log.internal_error("worker")  # the worker leaves the session, as its own fault
            _write(out, ("failed",))
            continue
        _write(out, ("done", st, done))


def main() -> int:
    """The child's entry: quiet whatever happens (the worker redoes what it held)."""

    def body() -> None:
        with os.fdopen(int(sys.argv[1]), "wb") as out:
            _serve(sys.stdin.buffer, out, Path(sys.argv[2]))

    return subproc.entry("worker", body)


if __name__ == "__main__":
    sys.exit(main())
