"""The rebuild on two cores: `staso import` beside a child process that rebuilds too. [backfill]

Rebuilding turns (transcript reads, the turn kernel) and shipping them (redaction, the
spool, encoding, HTTP) each take a good part of an import's CPU, and one Python process
runs one of them at a time whatever its threads. So a large import hands sessions, a few
ahead (WINDOW), to one child process (`python -m staso_otel.backfill.child`), which runs
`run.import_session` for each in turn and sends back each batch of new spans (pickled:
parent and child are the same install), then the session's counts; the parent ships
them as its own, and rebuilds a session itself, from the other end of the list,
whenever the child has nothing ready (as it starts, or when the parent has no send to
make: a dry run rebuilds on both cores, 100 MB in 0.97 s against 1.30 in one process).
Each session's spans keep their order; sessions end in another order than one process
gives, their spans and ids the same. One child only: a second would need its own
interpreter and kernel (~25 MB) and a third core.

If the child dies (killed, out of memory) or says nothing for subproc.SILENCE_S, it is stopped
and the parent rebuilds the sessions it held, leaving out the units the child had
handed over already: nothing is lost nor sent twice.
"""

from __future__ import annotations

import os
import sys
from collections import deque
from collections.abc import Callable
from typing import Any, BinaryIO

from staso_otel import cores, subproc
from staso_otel.backfill import run
from staso_otel.backfill.sources import Session
from staso_otel.export import ledger

# Below this much transcript the child's start (an interpreter and its imports, about
# 0.2 s of CPU) costs more than running beside the send saves.
MIN_BYTES = 16 * 1024 * 1024
# Sessions handed to the child and not back yet: enough that it never waits for this
# process, which may be in a send's wait (100 MB: 1.64-1.67 s with 32 or 128 ahead, 1.80
# with 8, median of five runs each)
WINDOW = 32
# The pipe's buffer and both ends' (a few rounds of pickled spans): a 64 KB pipe woke the
# parent, and switched between the processes, every few spans.
PIPE_BYTES = 1024 * 1024


def worth_it(sessions: list[Session]) -> bool:
    """A child pays for itself: a core free for it and enough to read. On cores the
    others keep busy it does not: the child's start, the pickling and the switching
    between the two cost 10-15% more CPU and the rebuild waits for a core all the same
    (100 MB at load 9-11: 4.8 MB/s against 5.5 in one process)."""
    if len(sessions) < 2 or os.name != "posix" or cores.free() < 1:
        return False
    return sum(s.size for s in sessions) >= MIN_BYTES


class _PipeSink:
    """`import_session`'s sink in the child: its spans go to the parent."""

    def __init__(self, out: BinaryIO, home: Any) -> None:
        self.out, self.home = out, home

    def write(self, spans: list) -> None:
        subproc.write(self.out, ("spans", spans))


def _serve(jobs: BinaryIO, out: BinaryIO) -> None:
    """The child: each session handed over rebuilt in turn, its spans then its counts
    sent back."""
    stream = subproc.jobs(jobs)
    options = next(stream, None)
    if options is None:
        return
    home, since_ns, capture, cap = options  # type: ignore[misc]
    sink = _PipeSink(out, home)
    for session in stream:
        counts = run.Report()
        run.import_session(
            session,  # type: ignore[arg-type]
            sink,
            counts,
            since_ns=since_ns,
            capture=capture,
            max_attribute_bytes=cap,
        )
        subproc.write(out, ("done", counts))


class _Handed:
    """A session the child holds: what it has handed back of it so far."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.roots: set[int] = set()  # unit roots of the spans shipped
        self.spans = 0
        self.turns = 0

    def took(self, spans: list) -> None:
        self.spans += len(spans)
        for span in spans:
            if ledger.is_unit_root(span):
                self.roots.add(span.span_id)
                self.turns += span.parent_span_id is None


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
    """Rebuild `sessions` here and in a child process, shipping their spans here through
    `sink`."""

    def here(session: Session, shipped: frozenset[int] = frozenset()) -> None:
        run.import_session(
            session,
            sink,
            report,
            since_ns=since_ns,
            capture=capture,
            max_attribute_bytes=max_attribute_bytes,
            shipped=shipped,
        )
        if progress is not None:
            progress(report, session)

    queue = deque(sessions)
    handed: deque[_Handed] = deque()
    try:
        child = subproc.Helper("staso_otel.backfill.child", pipe_bytes=PIPE_BYTES)
    except OSError:
        child = None  # no second process: all of it here
    if child is not None:
        finished = False
        try:
            child.put((sink.home, since_ns, capture, max_attribute_bytes))
            while queue or handed:
                while queue and len(handed) < WINDOW:
                    handed.append(_Handed(queue.popleft()))
                    child.put(handed[-1].session)
                if queue and not child.ready():
                    here(queue.pop())  # from the other end: never one the child holds
                    continue
                message = child.read(subproc.SILENCE_S)
                if not isinstance(message, tuple):
                    break  # gone or silent: what it held is rebuilt here, below
                kind, value = message
                if kind == "spans":
                    sink.write(value)
                    handed[0].took(value)
                    continue
                one = handed.popleft()
                _add(report, value)
                if progress is not None:
                    progress(report, one.session)
            finished = not handed
        finally:
            child.close(finished=finished)
    for one in handed:  # the child's, not finished: the units it handed over are kept
        report.spans += one.spans
        report.turns += one.turns
        here(one.session, frozenset(one.roots))
    for session in queue:
        here(session)


def _add(report: run.Report, counts: run.Report) -> None:
    report.sessions += counts.sessions
    report.turns += counts.turns
    report.spans += counts.spans
    report.bytes_read += counts.bytes_read
    report.already += counts.already
    report.skipped += counts.skipped
    report.errors += counts.errors


def main() -> int:
    """The child's entry: quiet whatever happens (the parent redoes what it held)."""

    def body() -> None:
        with os.fdopen(int(sys.argv[1]), "wb", buffering=PIPE_BYTES) as out:
            _serve(sys.stdin.buffer, out)

    return subproc.entry("import", body)


if __name__ == "__main__":
    sys.exit(main())
