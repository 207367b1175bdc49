"""The rebuild in a process of its own, beside the send: `staso import` on two cores. [backfill]

Rebuilding turns (transcript reads, the turn kernel) and shipping them (redaction, the
spool, encoding, HTTP) each take a good part of an import's CPU, and one Python process
runs one of them at a time whatever its threads. So a large import rebuilds in one child
process (`python -m staso_otel.backfill.child`) while the parent ships: the child runs
`run.import_session` for every session in order and hands each batch of new spans over a
pipe (pickled: parent and child are the same install), then the session's counts; the
parent spools and sends them as it would its own, in the same order, so the output is the
same. The pipe's buffer is the only queue between them (a child ahead of the send waits
for it), so memory stays bounded. One child only: a second would need its own
interpreter and kernel (~25 MB) and a third core.

If the child dies (killed, out of memory), what it handed over is spooled and in the
ledger (whole units only), and every session it had not finished is reported skipped: a
later import rebuilds them and sends only what is missing.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from collections.abc import Callable
from typing import Any, BinaryIO

from staso_otel import cores, subproc
from staso_otel.backfill import run
from staso_otel.backfill.sources import Session

# Below this much transcript the child's start (an interpreter and its imports, about
# 0.2 s of CPU) costs more than running beside the send saves.
MIN_BYTES = 16 * 1024 * 1024
JOIN_S = 10.0  # for the child to exit once it said it was done
# The pipe's buffer and both ends' (a few rounds of pickled spans): a 64 KB pipe woke the
# parent, and switched between the processes, every few spans.
PIPE_BYTES = 1024 * 1024


def worth_it(sessions: list[Session], dry_run: bool) -> bool:
    """A child pays for itself: there is a send to overlap, a core free for it and enough
    to read. On cores the others keep busy it does not: the child's start, the pickling
    and the switching between the two cost 10-15% more CPU and the rebuild waits for a
    core all the same (100 MB at load 9-11: 4.8 MB/s against 5.5 in one process)."""
    if dry_run or len(sessions) < 2 or os.name != "posix" or cores.free() < 1:
        return False
    return sum(s.size for s in sessions) >= MIN_BYTES


class _PipeSink:
    """`import_session`'s sink in the child: its spans go to the parent."""

    def __init__(self, out: BinaryIO, home: Any) -> None:
        self.out, self.home = out, home

    def write(self, spans: list) -> None:
        pickle.dump(("spans", spans), self.out, pickle.HIGHEST_PROTOCOL)


def _rebuild(job: BinaryIO, out: BinaryIO) -> None:
    """The child: every session rebuilt in order, its spans and then its counts sent."""
    sessions, home, since_ns, capture, cap = pickle.load(job)
    sink = _PipeSink(out, home)
    for session in sessions:
        counts = run.Report()
        run.import_session(
            session, sink, counts, since_ns=since_ns, capture=capture, max_attribute_bytes=cap
        )
        pickle.dump(("done", counts), out, pickle.HIGHEST_PROTOCOL)
        out.flush()


def rebuild(
    sessions: list[Session],
    sink: run.Sink,
    report: run.Report,
    *,
    since_ns: int,
    capture: bool,
    max_attribute_bytes: int,
    progress: Callable[[run.Report, Session], None] | None = None,
) -> None:
    """Rebuild `sessions` in a child process, shipping their spans here through `sink`."""
    # A plain interpreter on a pipe of its own (not multiprocessing: its spawn starts a
    # resource tracker process too, 12 MB for nothing; a fork would copy a parent that
    # may run threads, a progress bar's)
    read_fd, write_fd = os.pipe()
    child = subprocess.Popen(
        [sys.executable, "-m", "staso_otel.backfill.child", str(write_fd)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        pass_fds=(write_fd,),
    )
    os.close(write_fd)  # the child's end: its exit reads as EOF here
    subproc.widen(read_fd, PIPE_BYTES)
    done = 0
    with os.fdopen(read_fd, "rb", buffering=PIPE_BYTES) as mine:
        try:
            assert child.stdin is not None
            with child.stdin as job:
                pickle.dump((sessions, sink.home, since_ns, capture, max_attribute_bytes), job)
            while done < len(sessions):
                try:
                    kind, value = pickle.load(mine)
                except (EOFError, pickle.UnpicklingError):
                    break  # the child died: the sessions left are reported below
                if kind == "spans":
                    sink.write(value)
                    continue
                _add(report, value)
                if progress is not None:
                    progress(report, sessions[done])
                done += 1
        except BrokenPipeError:
            pass  # the child died before it read its job
        finally:
            if done < len(sessions):
                child.kill()
            try:
                child.wait(JOIN_S)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
    for session in sessions[done:]:
        why = f"not rebuilt: the rebuild process ended (exit code {child.returncode})"
        report.skipped.append({"path": session.files[0].path, "why": why})


def _add(report: run.Report, counts: run.Report) -> None:
    report.sessions += counts.sessions
    report.turns += counts.turns
    report.spans += counts.spans
    report.bytes_read += counts.bytes_read
    report.already += counts.already
    report.skipped += counts.skipped
    report.errors += counts.errors


def main() -> int:
    """The child's entry: quiet whatever happens (the parent reports the sessions left)."""

    def body() -> None:
        with os.fdopen(int(sys.argv[1]), "wb", buffering=PIPE_BYTES) as out:
            _rebuild(sys.stdin.buffer, out)

    return subproc.entry("import", body)


if __name__ == "__main__":
    sys.exit(main())
