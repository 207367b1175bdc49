"""One session's pass: the journal's new records -> its target -> finished spans. [export stage]

`reduce` reads the journal from the offset in the session's state, lets the target turn
the records into spans, and hands each batch of them to `emit` under a name made of the
journal offset (a pass redone after a crash rewrites the same batches). It moves the
state (offset, target state, last and end times) and nothing else: no spool, no lock, no
cache of the worker's. So the worker runs it in its own process, or, for a backlog, in a
child process beside it (ahead.py), and the same records make the same spans either way.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from staso_otel import log, targets
from staso_otel.export import losses
from staso_otel.record import journal
from staso_otel.span.model import SpanData
from staso_otel.targets.base import IDLE_EXPIRY_NS, SESSION_END_EVENT, Context, Target

READ_LIMIT_BYTES = 8 * 1024 * 1024
# An ended session may be resumed (same session id): its journal and state stay this long.
CLOSED_GRACE_NS = 10 * 60 * 1_000_000_000

Emit = Callable[[str, list[SpanData]], None]  # (batch name, spans)


@dataclass
class Reduced:
    """What a pass did, for the worker's own bookkeeping."""

    records: int = 0
    spans: int = 0
    offset: int = 0  # journal bytes consumed
    polling: bool = False  # the target waits on something outside the journal
    ended_ns: int = 0  # when the session ended (SessionEnd), 0 if it did not
    expired: bool = False  # done with: the worker deletes its journal and state


def reduce(
    target_name: str, path: Path, ctx: Context, st: dict, emit: Emit, home: Path | None = None
) -> Reduced:
    """Fold the journal's new records into `st`, emitting their spans as batches."""
    target = targets.get(target_name)
    done = Reduced()

    def batch(name: str, spans: list[SpanData]) -> None:
        emit(name, spans)
        done.spans += len(spans)

    offset = int(st.get("offset", 0))
    size = path.stat().st_size
    if size < offset:
        log.warning("worker", f"journal {path.name} shrank; starting it over")
        offset, st["target"] = 0, {}
    while True:
        unreadable = journal.stats["skipped"]
        records, end = journal.read_batch(path, offset, READ_LIMIT_BYTES)
        unreadable = journal.stats["skipped"] - unreadable
        losses.add(losses.SKIPPED, "unreadable journal line", unreadable, home)
        if end == offset:
            break
        tstate = st.setdefault("target", {})
        batch(f"{target_name}.{path.stem}.{offset:014d}", _run(target, tstate, records, ctx, home))
        done.records += len(records)
        offset = end
        st["offset"] = offset
        if records:
            st["last_ns"] = max(int(st.get("last_ns", 0)), records[-1].received_ns)
            last = records[-1]
            ended = last.payload.get("hook_event_name") == SESSION_END_EVENT
            st["ended_ns"] = last.received_ns if ended else 0
    skipped = journal.torn_tail(path, offset, ctx.now_ns)
    if skipped:
        offset += skipped
        st["offset"] = offset
    tstate = st.setdefault("target", {})
    if tstate.get("poll") and not done.records:
        # the target waits on something outside the journal (Codex: whether the
        # rollout ended a turn at its Stop or a Stop hook continued it): ask again
        batch(
            f"{target_name}.{path.stem}.{offset:014d}.poll{ctx.now_ns}", _poll(target, tstate, ctx)
        )
    done.polling = bool(tstate.get("poll"))
    last_ns = int(st.get("last_ns", 0)) or path.stat().st_mtime_ns
    done.ended_ns = int(st.get("ended_ns", 0) or 0)
    # Done with: idle for a day, or ended (and not resumed) for CLOSED_GRACE_NS. Its
    # journal and state hold every prompt and output: they go, once spooled.
    finished = ctx.now_ns - last_ns > IDLE_EXPIRY_NS or (
        done.ended_ns and ctx.now_ns - done.ended_ns > CLOSED_GRACE_NS
    )
    if offset == path.stat().st_size and finished:
        batch(f"{target_name}.{path.stem}.expired", target.expire(st.setdefault("target", {}), ctx))
        done.expired = True
    done.offset = offset
    return done


def _poll(target: Target, tstate: dict, ctx: Context) -> list[SpanData]:
    backup = copy.deepcopy(tstate)
    try:
        return target.process(tstate, [], ctx)
    except Exception:
        log.internal_error("worker")
        tstate.clear()
        tstate.update(backup)
        tstate["poll"] = False  # never spin on a target that cannot settle
        return []


def _run(
    target: Target, tstate: dict, records: list[journal.Record], ctx: Context, home: Path | None
) -> list[SpanData]:
    if not records:
        return []
    backup = copy.deepcopy(tstate)
    try:
        return target.process(tstate, records, ctx)
    except Exception:
        log.internal_error("worker")
    # One record broke the target: replay one at a time from the saved state, skipping
    # the records that raise, so one bad event cannot wedge the session forever.
    tstate.clear()
    tstate.update(backup)
    produced: list[SpanData] = []
    for record in records:
        before = copy.deepcopy(tstate)
        try:
            produced.extend(target.process(tstate, [record], ctx))
        except Exception:
            log.warning(
                "worker", f"skipped a record the target could not use at offset {record.offset}"
            )
            losses.add(losses.SKIPPED, "a record the target could not use", 1, home)
            tstate.clear()
            tstate.update(before)
    return produced
