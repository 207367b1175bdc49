"""The export worker: journals -> target -> redacted spans -> spool -> OTLP. [export stage]

One worker per STASO_HOME holds `run/worker.lock` (flock) while it runs; the hook starts
one when the lock is free. It polls the journals, lets each session's target turn new
records into finished spans (`session.reduce`; for a backlog, partly in a second process:
ahead.py), spools them (durable), sends what is due, and exits after
`worker_idle_seconds` without work. While spans wait for a retry (a backoff, a
Retry-After, a parked batch's hourly retry) it stays and sleeps until the next one is
due, up to `retry_linger_seconds` after its last success or record; past that the next
hook or `staso flush` takes over. `drain()` is the same loop run once to completion, for
`staso flush`, the demo and tests.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from staso_otel import log, paths
from staso_otel import settings as settings_mod
from staso_otel.export import ledger, losses, policy, retention
from staso_otel.export.spool import Batch, Spool, Staged
from staso_otel.hook.spawn import worker_lock_path
from staso_otel.pipeline import ahead, session
from staso_otel.pipeline.commit import Commits
from staso_otel.record import journal, state
from staso_otel.span.model import SpanData
from staso_otel.span.redact import Memo, redact_spans
from staso_otel.targets.base import IDLE_EXPIRY_NS, Context

# `otlp` loads the encoder and http.client/ssl (no SDK, no protobuf, no requests): it is
# imported where spans are sent, so a worker that finds nothing to do never loads it.
if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter

    from staso_otel.export import otlp

POLL_S = 0.1
WAIT_POLL_S = 1.0  # while only waiting for a retry: journals are still looked at this often


@dataclass
class DrainReport:
    records: int = 0
    spans_spooled: int = 0
    spans_sent: int = 0
    spans_left: int = 0
    batches_left: int = 0
    parked_spans: int = 0
    errors: list[str] = field(default_factory=list)
    # lost or changed since the last `staso flush`: {kind: {cause: count}} (losses.py)
    losses: dict[str, dict[str, int]] = field(default_factory=dict)


def status_path(home: Path | None = None) -> Path:
    return paths.run_dir(home) / "status.json"


def read_status(home: Path | None = None) -> dict:
    try:
        data = json.loads(status_path(home).read_bytes())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


@dataclass
class _Handed:
    """A session handed to the child process, its lock held here meanwhile."""

    target_name: str
    path: Path
    size: int  # the journal's, when handed over
    held: state.Held
    staged: list[Staged] = field(default_factory=list)
    failed: bool = False  # spooling its spans failed here: left, as a session that raised


class Pipeline:
    """Everything the worker does, as methods a test can drive step by step."""

    def __init__(
        self,
        home: Path | None = None,
        settings: settings_mod.Settings | None = None,
        exporter: SpanExporter | None = None,
    ) -> None:
        self.home = home or paths.staso_home()
        self.settings_error: str | None = None
        if settings is None:
            try:
                settings = settings_mod.load(home=self.home)
                if exporter is None:
                    settings.require_key()
            except settings_mod.SettingsError as exc:
                # Keep recording and spooling: nothing is lost while the user fixes it.
                self.settings_error = str(exc)
                log.warning("worker", f"not exporting: {exc}")
                if settings is None:
                    settings = settings_mod.defaults()
        self.settings = settings
        if settings.api_key and not settings.key_sent:
            log.warning("worker", f"api key {settings.key_line()}")
        self.policy = policy.policy(settings)
        for note in (*settings.notes, *self.policy.notes):  # said, not silently dropped
            log.warning("worker", note)
        self.spool = Spool(self.home, settings.spool_max_bytes)
        self.commits = Commits(self.spool)
        with contextlib.suppress(OSError):
            self.spool.remove_orphans()  # staged by a worker killed before publishing
        self._exporter = exporter
        self._sender: otlp.Sender | None = None
        with contextlib.suppress(OSError):
            retention.prune_quarantine(time.time_ns(), self.home)
        self.known: dict[Path, int] = {}  # journal -> bytes consumed
        self.ended: dict[Path, int] = {}  # journal -> when its session ended (SessionEnd)
        self.polling: set[Path] = set()  # journals whose target asked to be asked again
        self.blocked_until_ns = 0  # after a retryable failure, don't hammer the backend
        self.sent_total = 0
        self.last_error: str | None = None
        self.redacted = Memo()  # texts already redacted, across the sessions of a backlog
        # sending while reducing (process_journals(send=True)): batches committed and not
        # yet sent, the group being formed, and the group whose request is in flight
        self._ready: deque[Path | Batch] = deque()  # a Batch: loaded, not yet sent
        self._forming: list[tuple[Batch, int]] = []  # with each batch's estimated bytes
        self._flight: list[Batch] | None = None
        self._pass_sent = 0

    @property
    def sender(self) -> otlp.Sender:
        if self._sender is None:
            from staso_otel.export import otlp

            self._sender = otlp.Sender(self.settings, self._exporter, self.policy)
        return self._sender

    def close(self) -> None:
        self.commits.close()
        if self._sender is not None:
            self._sender.shutdown()

    # -- journals -> spool ---------------------------------------------------------------
    def pending(self) -> bool:
        """Any journal with bytes this worker has not consumed?"""
        for _, path in journal.journals(self.home):
            try:
                size = path.stat().st_size
            except FileNotFoundError:
                continue
            if self.known.get(path) != size:
                return True
        return False

    def process_journals(self, now_ns: int | None = None, *, send: bool = False) -> tuple[int, int]:
        """Consume new records of every journal; returns (records, spans spooled).

        With `send`, the batches of the sessions already committed go out while the next
        sessions are reduced, a group at a time (as `send_spool` groups them): the request
        is written, and its answer read only once it has come, so the wait on the backend
        overlaps the reduction instead of following it. Each batch is durable, with its
        session's offset saved, before it is sent, and deleted only once accepted; a
        failure defers or parks it exactly as `send_spool` does, and blocks the rest."""
        now_ns = now_ns or time.time_ns()
        ctx = Context(
            now_ns=now_ns,
            capture_content=bool(self.settings.capture_content),
            agent_id=self.settings.agent_id,
            max_attribute_bytes=int(self.settings.max_attribute_bytes),
        )
        done: dict[Path, tuple[int, int]] = {}
        try:
            due = [(t, p) for t, p in journal.journals(self.home) if self._due(p, ctx.now_ns)]
            if ahead.worth_it(len(due)):
                due = self._process_ahead(due, ctx, done, send=send)
            for target_name, path in due:
                done[path] = self._process_journal(target_name, path, ctx)
                if send:
                    self._send_ready()
        finally:
            self._land()  # the request in flight: its batches deleted if accepted
            # A commit that failed (logged) left its session's offset where it was, and
            # counts nothing: like a fault in the target, it is tried again when the
            # journal grows, not at once, so a full disk cannot keep the worker spinning.
            for path in self.commits.wait():
                done.pop(path, None)
        try:
            if send:
                while self._send_ready(final=True):
                    self._land()
        finally:
            self._land()
            self.commits.wait()
            # what was not sent here is on disk: send_spool takes it
            self._ready.clear()
            self._forming.clear()
            self.commits.durable()
            self._sent(self._pass_sent)
            self._pass_sent = 0
        return sum(r for r, _ in done.values()), sum(s for _, s in done.values())

    def _due(self, path: Path, now_ns: int) -> bool:
        """The journal has records not consumed yet, its target asked to be asked again,
        or its session may have expired (one stat: every journal, every pass)."""
        try:
            st = path.stat()
        except FileNotFoundError:
            return False
        if self.known.get(path) != st.st_size or path in self.polling:
            return True
        return now_ns - st.st_mtime_ns > IDLE_EXPIRY_NS

    def _process_journal(self, target_name: str, path: Path, ctx: Context) -> tuple[int, int]:
        """One session of the pass (found `_due` when the pass began)."""
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return 0, 0
        try:
            return self._process_one(target_name, path, ctx)
        except Exception:
            log.internal_error("worker")
            # Not again until the journal grows: a fault that repeats must not keep the
            # worker spinning (and alive) on it; the next append retries it.
            self.known[path] = size
            return 0, 0

    def _process_ahead(
        self,
        due: list[tuple[str, Path]],
        ctx: Context,
        done: dict[Path, tuple[int, int]],
        *,
        send: bool,
    ) -> list[tuple[str, Path]]:
        """Sessions reduced by a child process (ahead.py), a few ahead of this one, which
        ships them as its own and reduces others itself whenever the child has nothing
        ready. Returns the sessions left to this process: those the child held if it
        died or went silent."""
        try:
            child = ahead.Child(self.home)
        except OSError as exc:
            log.warning("worker", f"reducing here: no second process ({exc})")
            return due
        # the first are handed at once and the last reduced here first: the rest's lock
        # files are the child's to make
        later = due[ahead.WINDOW : -ahead.WINDOW]
        child.prepare([state.state_path(t, p.name, self.home) for t, p in later])
        queue = deque(due)
        handed: deque[_Handed] = deque()
        finished = False
        try:
            while queue or handed:
                while queue and len(handed) < ahead.WINDOW:
                    one = self._hand(child, *queue.popleft(), ctx)
                    if one is not None:
                        handed.append(one)
                if not handed:
                    break
                if queue and not child.ready():
                    # nothing from the child yet (it starts, or it is behind): a session
                    # reduced here meanwhile, while the child works through its window
                    target_name, path = queue.pop()  # from the other end: no overlap
                    done[path] = self._process_journal(target_name, path, ctx)
                    if send:
                        self._send_ready()
                    continue
                message = child.read()
                if message is None:  # gone or silent: what it held is redone here
                    log.warning("worker", "the second process stopped; reducing here")
                    return [(one.target_name, one.path) for one in handed] + list(queue)
                if message[0] == "spans":
                    self._ship(handed[0], *message[1:])
                    continue
                one = handed.popleft()
                if message[0] == "done" and not one.failed:
                    done[one.path] = self._settle_handed(one, message[1], message[2])
                    if send:
                        self._send_ready()
                else:  # its reduce raised (logged there), or its spooling here did
                    self._release(one)
                    self.known[one.path] = one.size
            finished = True
            return []
        finally:
            for one in handed:
                self._release(one)
            child.close(finished=finished)

    def _hand(
        self, child: ahead.Child, target_name: str, path: Path, ctx: Context
    ) -> _Handed | None:
        """Take the session's lock and hand it to the child (None: left as it is)."""
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return None
        try:
            held = state.acquire(state.state_path(target_name, path.name, self.home))
        except Exception:
            log.internal_error("worker")
            self.known[path] = size  # as _process_journal leaves a session that raised
            return None
        child.submit(target_name, path, ctx, held.data)
        return _Handed(target_name, path, size, held)

    def _ship(
        self,
        one: _Handed,
        name: str,
        clean: list[SpanData],
        units: ledger.Units,
    ) -> None:
        if one.failed:
            return
        try:
            self.spool_redacted(name, clean, units, one.staged)
        except Exception:
            log.internal_error("worker")
            one.failed = True

    def _settle_handed(self, one: _Handed, st: dict, reduced: session.Reduced) -> tuple[int, int]:
        one.held.data.clear()
        one.held.data.update(st)
        spath = state.state_path(one.target_name, one.path.name, self.home)
        try:
            return self._settle(one.path, spath, one.held, one.staged, reduced)
        except Exception:
            log.internal_error("worker")
            self.known[one.path] = one.size
            return 0, 0

    def _release(self, one: _Handed) -> None:
        self.spool.discard(one.staged)
        state.release(one.held)

    def _process_one(self, target_name: str, path: Path, ctx: Context) -> tuple[int, int]:
        spath = state.state_path(target_name, path.name, self.home)
        held = state.acquire(spath)
        staged: list[Staged] = []
        try:
            done = session.reduce(
                target_name, path, ctx, held.data, self._spooler(staged), self.home
            )
        except BaseException:
            self.spool.discard(staged)
            state.release(held)
            raise
        return self._settle(path, spath, held, staged, done)

    def _spooler(self, staged: list[Staged]) -> session.Emit:
        def emit(name: str, spans: list[SpanData]) -> None:
            self.spool_spans(name, spans, staged)

        return emit

    def _settle(
        self,
        path: Path,
        spath: Path,
        held: state.Held,
        staged: list[Staged],
        done: session.Reduced,
    ) -> tuple[int, int]:
        """A session reduced: its commit handed to the commit thread, and what the worker
        keeps of it (consumed offset, polling, end time) noted; an expired one removed."""
        # The batches are made durable, the state saved and the lock released on the
        # commit thread, while the next session is reduced (pipeline/commit.py).
        self.commits.submit(path, staged, held)
        if done.polling:
            self.polling.add(path)
        else:
            self.polling.discard(path)
        if done.ended_ns:
            self.ended[path] = done.ended_ns
        else:
            self.ended.pop(path, None)
        self.known[path] = done.offset
        if done.expired:
            if path in self.commits.wait():
                return 0, 0
            # Only if no hook appended meanwhile; otherwise the next pass picks it up.
            if path.stat().st_size == done.offset:
                path.unlink(missing_ok=True)
                state.delete(spath)
                self.known.pop(path, None)
                self.ended.pop(path, None)
        return done.records, done.spans

    def spool_spans(
        self,
        name: str,
        spans: list[SpanData],
        staged: list[Staged] | None = None,
        *,
        remember: bool = False,
    ) -> int:
        """Sample, redact and spool finished spans (the worker's, and `staso import`'s);
        returns how many were kept. With `staged`, the batch is only staged and added to
        it, for the caller to publish (commit.py); else it is durable on return, and kept
        in memory for its first send with `remember` (Spool.write)."""
        spans = self.policy.keep(spans)  # OTEL_SDK_DISABLED, OTEL_TRACES_SAMPLER, ...
        if not spans:
            return 0
        clean = redact_spans(spans, int(self.settings.max_attribute_bytes), self.redacted)
        return self._spool_clean(name, clean, ledger.roots(spans), staged, remember=remember)

    def spool_redacted(
        self,
        name: str,
        clean: list[SpanData],
        units: ledger.Units,
        staged: list[Staged],
    ) -> int:
        """spool_spans of spans redacted elsewhere (the child process, ahead.py), with the
        unit roots `ledger.roots` found among them before: the sampler decides by trace,
        which redaction leaves as it is."""
        kept = self.policy.keep(clean)
        if not kept:
            return 0
        if len(kept) < len(clean):
            ids = {span.span_id for span in kept}
            units = {key: [i for i in roots if i in ids] for key, roots in units.items()}
        return self._spool_clean(name, kept, units, staged)

    def _spool_clean(
        self,
        name: str,
        clean: list[SpanData],
        units: ledger.Units,
        staged: list[Staged] | None,
        *,
        remember: bool = False,
    ) -> int:
        if staged is None:
            self.spool.write(name, clean, remember=remember)
        else:
            one = self.spool.stage(name, clean)
            if one is not None:
                staged.append(one)
        with contextlib.suppress(OSError):  # what `staso import` must not send again
            ledger.note_roots(units, self.home)
        return len(clean)

    # -- spool -> backend ----------------------------------------------------------------
    def _send_ready(self, *, final: bool = False) -> bool:
        """Land the request in flight if answered, then begin the next full group of
        committed batches (with `final`, the last one too); returns whether one began."""
        if self._flight is not None:
            if not self.sender.answered():
                return False  # not answered yet: the next session is reduced meanwhile
            self._land()
        self._ready.extend(self.commits.durable())
        if self.settings_error or time.time_ns() < self.blocked_until_ns:
            return False
        from staso_otel.export import otlp

        used = sum(size for _, size in self._forming)
        count = sum(len(batch.spans) for batch, _ in self._forming)
        while True:
            if not self._ready:
                if final and self._forming:
                    break
                return False  # not a full group yet
            batch = self._loaded(self._ready[0])
            if batch is None:
                self._ready.popleft()
                continue
            size = otlp.estimate_bytes(batch.spans)
            full = used + size > otlp.MAX_GROUP_BYTES
            if self._forming and (full or count + len(batch.spans) > otlp.MAX_REQUEST_SPANS):
                self._ready[0] = batch  # loaded once (a load takes it from the spool's memory)
                break
            self._ready.popleft()
            self._forming.append((batch, size))
            used += size
            count += len(batch.spans)
        group = [batch for batch, _ in self._forming]
        self._forming = []
        if len(group) == 1 and len(otlp.chunk(group[0].spans)) > 1:
            sent, _ = self._send_batch(group[0], time.time_ns())  # rare: no overlap
            self._pass_sent += sent
            return True
        self.sender.begin([span for batch in group for span in batch.spans])
        self._flight = group
        return True

    def _loaded(self, item: Path | Batch) -> Batch | None:
        """A committed batch to send now; None if it is gone, empty or not due (those are
        left to send_spool, which deletes, waits or parks them as it does any batch)."""
        batch = item if isinstance(item, Batch) else self.spool.load(item)
        if batch is None or not batch.spans or batch.next_attempt_ns > time.time_ns():
            return None
        return batch

    def _land(self) -> None:
        """Read the answer to the request in flight and settle its batches."""
        if self._flight is None:
            return
        group, self._flight = self._flight, None
        sent, _ = self._finish_group(group, time.time_ns())
        self._pass_sent += sent

    def send_spool(self, now_ns: int | None = None, *, force: bool = False) -> tuple[int, bool]:
        """Send due batches; returns (spans sent, whether batches wait for a later retry).

        Consecutive due batches go out together in one request, up to 512 spans or 512 KB
        (otlp.MAX_REQUEST_SPANS, MAX_GROUP_BYTES), as a BatchSpanProcessor sends hundreds
        of spans at once: one request per session's batch made most of the sending time.
        Only the current group is in memory, so a backlog is sent with bounded memory.
        """
        if self.settings_error:
            return 0, False
        try:
            return self._send_due(now_ns or time.time_ns(), force)
        finally:
            self.commits.wait()  # the delivered batches' deletes (commit.py)

    def _send_due(self, now_ns: int, force: bool) -> tuple[int, bool]:
        sent = 0
        waiting = False
        if not force:
            self.spool.unpark_due(now_ns)
        group: list[Batch] = []
        used = count = 0  # estimated bytes and spans of `group`
        for path in list(self.spool.batches()):
            if not force and now_ns < self.blocked_until_ns:
                return self._sent(sent), True
            batch = self.spool.load(path)
            if batch is None:
                continue
            if not batch.spans:
                self.spool.delete(batch)
                continue
            if not force and batch.next_attempt_ns > now_ns:
                waiting = True
                continue
            from staso_otel.export import otlp  # only now: an empty spool never loads it

            size = otlp.estimate_bytes(batch.spans)
            full = used + size > otlp.MAX_GROUP_BYTES
            if group and (full or count + len(batch.spans) > otlp.MAX_REQUEST_SPANS):
                delivered, retry = self._send_group(group, now_ns)
                sent += delivered
                group, used, count = [], 0, 0
                if retry:
                    waiting = True
                    if force:
                        return self._sent(sent), True  # failing: do not try every batch
                    continue  # the block set by the failure ends this pass above
            group.append(batch)
            used += size
            count += len(batch.spans)
        if group:  # a failure in this pass leaves `group` empty: it never sends while blocked
            delivered, retry = self._send_group(group, now_ns)
            sent += delivered
            waiting = waiting or retry
        return self._sent(sent), waiting

    def _sent(self, sent: int) -> int:
        if sent:
            self._write_status(sent=sent)
        return sent

    def _send_group(self, group: list[Batch], now_ns: int) -> tuple[int, bool]:
        """One request for several batches; each is deleted only once it is accepted."""
        from staso_otel.export import otlp

        if len(group) == 1 and len(otlp.chunk(group[0].spans)) > 1:
            return self._send_batch(group[0], now_ns)
        self.sender.begin([span for batch in group for span in batch.spans])
        return self._finish_group(group, now_ns)

    def _finish_group(self, group: list[Batch], now_ns: int) -> tuple[int, bool]:
        """Settle the batches of the request begun for `group`, by its outcome."""
        outcome = self.sender.finish()
        if outcome.kind == "ok":
            spans = sum(len(batch.spans) for batch in group)
            for batch in group:
                self.commits.delete(batch)
            self.sent_total += spans
            return spans, False
        if outcome.kind == "retry":
            # As one failing batch would: the first is deferred (its attempts count the
            # backoff), the block holds back the rest, which keep their own headers.
            return self._retry_later(group[0], group[0].spans, outcome, now_ns)
        if len(group) == 1:
            return self._send_batch(group[0], now_ns, outcome)
        # Too large or refused: each batch on its own, so one bad batch is split or
        # parked without holding back the others.
        sent = 0
        for batch in group:
            delivered, retry = self._send_batch(batch, now_ns)
            sent += delivered
            if retry:
                return sent, True
        return sent, False

    def _send_batch(
        self, batch: Batch, now_ns: int, first: otlp.Outcome | None = None
    ) -> tuple[int, bool]:
        """Send one batch, in parts when large; `first`: what its one request got already."""
        from staso_otel.export import otlp

        delivered = 0
        left: list[SpanData] = []
        worst: otlp.Outcome | None = None
        for part in otlp.chunk(batch.spans):
            n, rest, outcome = self._deliver(part, first)
            first = None
            delivered += n
            left.extend(rest)
            if outcome is not None and (worst is None or outcome.kind == "retry"):
                worst = outcome
        self.sent_total += delivered
        if not left:
            self.commits.delete(batch)
            return delivered, False
        self.spool.replace_spans(batch, left)
        assert worst is not None
        if worst.kind == "retry":
            _, retry = self._retry_later(batch, left, worst, now_ns)
            return delivered, retry
        self._write_status(error=f"{worst.kind}: {worst.detail}")
        self.spool.park(batch, f"{worst.kind}: {worst.detail}", now_ns)
        return delivered, False

    def _retry_later(
        self, batch: Batch, left: list[SpanData], outcome: otlp.Outcome, now_ns: int
    ) -> tuple[int, bool]:
        """Back off (Retry-After honoured) and keep `batch` for its next attempt."""
        from staso_otel.export import otlp

        self._write_status(error=f"{outcome.kind}: {outcome.detail}")
        delay = otlp.backoff_s(batch.attempts, outcome.retry_after_s)
        self.blocked_until_ns = now_ns + int(delay * 1e9)
        self.spool.defer(batch, self.blocked_until_ns, outcome.detail)
        log.warning(
            "worker",
            f"export failed ({outcome.detail}); {len(left)} spans kept, retry in {delay:.1f}s",
        )
        return 0, True

    def _deliver(
        self, spans: list[SpanData], known: otlp.Outcome | None = None
    ) -> tuple[int, list[SpanData], otlp.Outcome | None]:
        """Send `spans` (unless `known` is what sending them got), halving on a 413."""
        from staso_otel.export import otlp

        outcome = known or self.sender.send(spans)
        if outcome.kind == "ok":
            return len(spans), [], None
        if outcome.kind == "too_large" and len(spans) > 1:
            half = len(spans) // 2
            n1, rest1, out1 = self._deliver(spans[:half])
            n2, rest2, out2 = self._deliver(spans[half:])
            worst = out1 if out1 is not None and (out2 is None or out1.kind == "retry") else out2
            return n1 + n2, rest1 + rest2, worst
        if outcome.kind == "too_large":
            return 0, spans, otlp.Outcome("rejected", 413, None, "HTTP 413 for a single span")
        return 0, spans, outcome

    def _write_status(self, *, sent: int = 0, error: str | None = None) -> None:
        data = read_status(self.home)
        now = time.time_ns()
        if sent:
            data.update(
                last_export_ns=now,
                last_export_spans=sent,
                sent_total=int(data.get("sent_total", 0)) + sent,
            )
        if error:
            data.update(last_error=error, last_error_ns=now)
        data["endpoint"] = self.settings.endpoint
        with contextlib.suppress(OSError):
            # what `staso status` shows of the last export; nothing depends on it
            paths.atomic_write(
                status_path(self.home), json.dumps(data).encode(), durable=False, make_dirs=False
            )

    def report(self) -> DrainReport:
        usage = self.spool.usage()
        return DrainReport(
            spans_left=usage["spans"],
            batches_left=usage["batches"],
            parked_spans=usage["parked_spans"],
        )


@contextlib.contextmanager
def worker_lock(home: Path | None = None, timeout_s: float = 0.0):
    """Yield True holding the worker lock, or False if another process kept it past timeout."""
    path = Path(worker_lock_path(home))
    paths.ensure_dir(path.parent)
    fd = paths.open_private(path, os.O_RDWR | os.O_CREAT)
    try:
        yield paths.wait_flock(fd, timeout_s)
    finally:
        os.close(fd)


def drain(
    *,
    home: Path | None = None,
    settings: settings_mod.Settings | None = None,
    exporter: SpanExporter | None = None,
    send: bool = True,
    include_parked: bool = True,
    lock_timeout_s: float = 30.0,
) -> DrainReport:
    """Process everything recorded so far and export what the backend accepts, now."""
    home = home or paths.staso_home()
    pipeline = Pipeline(home, settings, exporter)
    report = DrainReport()
    with worker_lock(home, lock_timeout_s) as held:
        if not held:
            report.errors.append("a running worker kept the lock; its work is not counted here")
        try:
            report.records, report.spans_spooled = pipeline.process_journals()
            if pipeline.settings_error:
                report.errors.append(pipeline.settings_error)
            elif send:
                if include_parked:
                    pipeline.spool.unpark_all()
                report.spans_sent, _ = pipeline.send_spool(force=True)
        finally:
            pipeline.close()
    left = pipeline.report()
    report.spans_left, report.batches_left = left.spans_left, left.batches_left
    report.parked_spans = left.parked_spans
    if (report.spans_left or report.parked_spans) and not report.errors:
        report.errors.append(read_status(home).get("last_error") or "export failed")
    report.losses = losses.current(home)
    return report


def run_worker(home: Path | None = None) -> int:
    """The detached worker's life: hold the lock, work until idle, re-check, exit."""
    home = home or paths.staso_home()
    pipeline: Pipeline | None = None
    try:
        while True:
            with worker_lock(home) as held:
                if not held:
                    return 0
                if pipeline is None:
                    pipeline = Pipeline(home)
                    _auto_sync()
                _work_until_idle(pipeline)
            # Lock released: a hook that saw it held did not spawn anyone, so look again.
            if not pipeline.pending():
                return 0
    except Exception:
        log.internal_error("worker")
        return 1
    finally:
        if pipeline is not None:
            pipeline.close()


def _auto_sync() -> None:
    """With auto-sync on, a worker started by SessionStart re-writes the hook entries after
    a staso upgrade: off the hook's path, so the agent never waits for it. The record is
    checked first, so a start with nothing stale never imports an installer."""
    from staso_otel.targets import install_record, installers

    for name in installers.NAMES:
        try:
            if not install_record.stale(install_record.load(name)):
                continue
            if installers.get(name).sync_if_needed():
                log.info("worker", f"auto-sync: {name} hook entries re-written for this staso")
        except Exception:
            log.internal_error("worker")


def _work_until_idle(pipeline: Pipeline) -> None:
    idle_s = float(pipeline.settings.worker_idle_seconds)
    linger_s = float(pipeline.settings.retry_linger_seconds)
    last_work = time.monotonic()
    while True:
        if not pipeline.home.is_dir():
            return  # STASO_HOME removed (uninstall --purge, a scratch home): nothing is ours
        records, _ = pipeline.process_journals(send=True)
        sent, _ = pipeline.send_spool()
        now = time.monotonic()
        if records or sent:
            last_work = now
        idle = now - last_work
        if idle < idle_s:
            time.sleep(POLL_S)
            continue
        due_ns = None if pipeline.settings_error else pipeline.spool.next_due_ns()
        if due_ns is None or idle >= linger_s:
            return
        # Only waiting for a retry: sleep towards it, still watching for new records.
        time.sleep(min(max((due_ns - time.time_ns()) / 1e9, POLL_S), WAIT_POLL_S))


def main() -> None:
    sys.exit(run_worker())


if __name__ == "__main__":
    main()
