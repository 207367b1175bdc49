"""A helper process beside this one: its pipes, their frames, its quiet entry point. [util]

`staso import` rebuilds sessions in a child process (backfill/child.py) and the worker
reduces a backlog in one (pipeline/ahead.py). Both work the same way: the parent hands
jobs over and reads back what came of them, one frame at a time, doing a job itself
whenever the child has nothing ready; a child that dies or goes silent is stopped and
its jobs redone in the parent. So neither child may print a traceback.

Frames on both pipes: a 4-byte little-endian length, then a pickle (parent and child are
the same install).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import struct
import threading
import time
from collections.abc import Callable, Iterator
from queue import SimpleQueue
from typing import BinaryIO

from staso_otel import launch

_HEAD = struct.Struct("<I")
SILENCE_S = 60.0  # a child that says nothing this long is stopped; what it held redone


def widen(fd: int, size: int) -> None:
    """A pipe of `size` bytes where Linux allows it (elsewhere the default is kept): a few
    sessions' spans, where a 64 KB pipe switched between the two processes every few."""
    with contextlib.suppress(OSError, AttributeError):  # F_SETPIPE_SZ: Linux only
        import fcntl

        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, size)


class Helper:
    """The parent's end: `python -P -m <module> <answer fd> <args...>`, jobs written to its
    stdin on a thread (a child that stopped reading must cost a silent `read`, not a
    parent blocked on a full pipe), answers read without blocking.

    A plain interpreter on a pipe of its own, not multiprocessing: its spawn starts a
    resource tracker process too (12 MB for nothing), and a fork would copy a parent that
    may run threads (a progress bar's, a send's)."""

    def __init__(self, module: str, *args: str, pipe_bytes: int) -> None:
        import subprocess  # here: a cold worker with one session to send never loads it

        read_fd, write_fd = os.pipe()
        try:
            self._proc = subprocess.Popen(
                launch.module_argv(module, str(write_fd), *args),
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                pass_fds=(write_fd,),
            )
        except BaseException:
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)  # the child's end: its exit reads as EOF here
        widen(read_fd, pipe_bytes)
        self._fd = read_fd
        self._buf = bytearray()
        self._eof = False
        self._jobs: SimpleQueue[bytes | None] = SimpleQueue()
        threading.Thread(target=self._give, daemon=True, name=f"staso-{module}").start()

    def put(self, job: object) -> None:
        """Hand one job over (pickled now: the caller may change its objects after)."""
        self._jobs.put(pickle.dumps(job, pickle.HIGHEST_PROTOCOL))

    def _give(self) -> None:
        stdin = self._proc.stdin
        assert stdin is not None
        try:
            while (job := self._jobs.get()) is not None:
                stdin.write(_HEAD.pack(len(job)) + job)
                stdin.flush()
        except (OSError, ValueError):
            pass  # the child is gone: `read` says so
        finally:
            with contextlib.suppress(OSError, ValueError):
                stdin.close()

    def ready(self) -> bool:
        """A whole answer is here (or the child is gone): `read` will not wait."""
        return self._whole() is not None or self._fill(0.0) or self._eof

    def read(self, timeout_s: float) -> object | None:
        """The next answer; None if the child is gone, or silent for `timeout_s`."""
        deadline = time.monotonic() + timeout_s
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
        (the parent redoes what it held)."""
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


def write(out: BinaryIO, message: object) -> None:
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


def jobs(source: BinaryIO) -> Iterator[object]:
    """The child's jobs in order, until the parent closes its end. They are read on a
    thread of their own, so the parent never waits to hand one over while this process
    waits for the parent to read its answers."""
    queue: SimpleQueue[object] = SimpleQueue()

    def take() -> None:
        try:
            while (job := _read(source)) is not None:
                queue.put(job)
        finally:
            queue.put(None)

    threading.Thread(target=take, daemon=True).start()
    while (job := queue.get()) is not None:
        yield job


def entry(component: str, body: Callable[[], None]) -> int:
    """A child's main: 0 once `body` returns; 1, quietly, when its parent is gone (a
    broken pipe, the Ctrl-C it got too) or `body` fails (logged under `component`)."""
    try:
        body()
    except (KeyboardInterrupt, BrokenPipeError):
        return 1
    except Exception:
        from staso_otel import log

        log.internal_error(component)
        return 1
    return 0
