"""A backlog reduced in a second process, beside the worker: two cores for many sessions.
[export stage]

A worker that finds many sessions waiting (it was down, or many agents stopped at once)
spends about half its time in the turn kernel (`session.reduce`: journal, target, span
building) and half shipping (redaction, spool, commit, encoding, HTTP), one at a time in
one Python process whatever its threads. With a core free, a child process
(`python -m staso_otel.pipeline.ahead`) reduces sessions the worker hands it, a few
ahead, and sends back each batch of spans and the session's new state; the worker ships
them as it ships its own, and reduces sessions itself whenever the child has nothing
ready (the pipes and frames: subproc.py). The child writes nothing but the log: the
worker holds each session's lock while the child works on it and moves the offset only
once the batches are durable, so a child that dies, hangs or is killed changes nothing,
and the sessions it held are reduced by the worker itself.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Any, BinaryIO

from staso_otel import cores, subproc

# Fewer sessions than this are shipped faster than a child starts (an interpreter and
# the kernel's imports, about 0.1 s of CPU on the other core).
MIN_SESSIONS = 24
WINDOW = 8  # sessions handed to the child and not yet back (their locks held meanwhile)
PIPE_BYTES = 1024 * 1024
SILENCE_S = subproc.SILENCE_S  # its own name: a test shortens this child's alone


def worth_it(sessions: int) -> bool:
    return sessions >= MIN_SESSIONS and os.name == "posix" and cores.free() >= 1


class Child(subproc.Helper):
    """The worker's end: hand sessions over, read back what came of them."""

    def __init__(self, home: Path) -> None:
        super().__init__("staso_otel.pipeline.ahead", str(home), pipe_bytes=PIPE_BYTES)

    def prepare(self, states: list[Path]) -> None:
        """Have the child make these sessions' lock files first, while this process does
        the sessions before them (each creation 0.3 ms or more of this busier process)."""
        self.put(("locks", [str(p) for p in states]))

    def submit(self, target_name: str, path: Path, ctx: Any, st: dict) -> None:
        """Hand one session over (a copy of its state: the caller's is left as it is)."""
        self.put(("reduce", target_name, str(path), ctx, st))

    def read(self, timeout_s: float | None = None) -> tuple | None:  # type: ignore[override]
        """The next message: ("spans", name, redacted spans, their unit roots), ("done",
        st, reduced) or ("failed",); None if the child is gone or silent for `timeout_s`
        (SILENCE_S)."""
        message = super().read(SILENCE_S if timeout_s is None else timeout_s)
        return message if isinstance(message, tuple) else None


def _serve(jobs: BinaryIO, out: BinaryIO, home: Path) -> None:
    """The child: each session handed over, reduced in order, its batches (redacted, as
    the worker's spool_spans would) then its state sent back."""
    from staso_otel import log
    from staso_otel.export import ledger
    from staso_otel.pipeline import session
    from staso_otel.record import state
    from staso_otel.span.redact import Memo, redact_spans

    memo = Memo()  # as the worker's: texts met again across the sessions are looked up
    for job in subproc.jobs(jobs):
        if job[0] == "locks":  # type: ignore[index]
            for spath in job[1]:  # type: ignore[index]
                with contextlib.suppress(OSError):  # the worker makes any missing itself
                    state.make_lock(Path(spath))
            continue
        _, target_name, path, ctx, st = job  # type: ignore[misc]

        def emit(name: str, spans: list, cap: int = ctx.max_attribute_bytes) -> None:
            # redacted here too: the worker is the busier of the two
            clean = redact_spans(spans, cap, memo) if spans else spans
            subproc.write(out, ("spans", name, clean, ledger.roots(spans)))

        try:
            done = session.reduce(target_name, Path(path), ctx, st, emit, home)
        except Exception:
            log.internal_error("worker")  # the worker leaves the session, as its own fault
            subproc.write(out, ("failed",))
            continue
        subproc.write(out, ("done", st, done))


def main() -> int:
    """The child's entry: quiet whatever happens (the worker redoes what it held)."""

    def body() -> None:
        with os.fdopen(int(sys.argv[1]), "wb") as out:
            _serve(sys.stdin.buffer, out, Path(sys.argv[2]))

    return subproc.entry("worker", body)


if __name__ == "__main__":
    sys.exit(main())
