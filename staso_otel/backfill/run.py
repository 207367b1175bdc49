"""`staso import`: sessions rebuilt from transcripts -> the worker's spool and exporter. [backfill]

Each session's transcripts become the journal Records its hooks would have written
(`targets/<agent>/backfill.py`); the turn kernel, with the agent's parser, turns them
into spans, exactly as the worker does with a live journal, so ids and names are the live
ones. Then the worker's path: sampling policy, redaction and caps, the durable spool,
the OTLP sender.

Idempotent: a unit (turn, sub-agent run) whose root span id the ledger
(`export/ledger.py`) holds was spooled before, live or by an earlier import, and is not
spooled again; what is spooled is noted there.

Memory stays flat whatever the size: records are synthesised lazily and fed to the
reducer BATCH at a time, the reducer keeps only open turns, and spooled spans are sent
(and leave memory and the spool) every SEND_EVERY spans.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from staso_otel import log, paths, targets
from staso_otel import semconv as sc
from staso_otel import settings as settings_mod
from staso_otel.backfill.sources import Found, Session
from staso_otel.export import ledger
from staso_otel.record.journal import Record
from staso_otel.span.model import SpanData
from staso_otel.targets.base import Context
from staso_otel.targets.claude_code import backfill as claude
from staso_otel.targets.codex import backfill as codex

BATCH = 512  # records per reducer call
FLUSH_SPANS = 500  # spans per spool batch ...
FLUSH_CHARS = 1_000_000  # ... or this much text held (memory stays bounded)
# spans spooled between two sends: sending 2,000 at once took the peak RSS from about 60
# to 84 MB (the request's spans, encoded), 500 keeps it near 60
SEND_EVERY = 500
LAST_SEND_WAIT_S = 30.0  # for a live worker's lock; past it, that worker sends the rest
_SYNTH = {"codex": codex, "claude-code": claude}


@dataclass
class Report:
    sessions: int = 0
    turns: int = 0  # main turns imported (sub-agent runs are counted in spans)
    spans: int = 0  # rebuilt and handed to the spool (sampling may keep fewer)
    spans_sent: int = 0
    spans_left: int = 0  # still in the spool after the import (sent later)
    bytes_read: int = 0
    already: int = 0  # units (turns, sub-agent runs) exported before: not again
    skipped: list[dict[str, str]] = field(default_factory=list)  # {"path", "why"}
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


class Sink:
    """Where spans go: the worker's own spooling (sampling, redaction, caps, the durable
    spool, the ledger), a spool batch per FLUSH_SPANS spans or FLUSH_CHARS of content
    rather than per session (each batch costs an fsync), sent every SEND_EVERY spans.

    A send runs on a thread of its own while the next sessions are rebuilt: most of a
    send is waiting for the backend's answer, which the rebuild need not wait for. One
    send at most is in flight (the next waits for it), so memory holds one request's
    spans, as before; what it sends is only what was spooled, so the output is the same.
    """

    def __init__(self, home: Path, settings: settings_mod.Settings, dry_run: bool) -> None:
        from staso_otel.pipeline import worker

        self.home, self.dry_run = home, dry_run
        self.pipeline = None if dry_run else worker.Pipeline(home, settings)
        self.held: list[SpanData] = []
        self.chars = 0
        self.batches = itertools.count()
        self.unsent = 0
        self.sent = 0
        self._sending: threading.Thread | None = None
        self._failure: BaseException | None = None  # raised by a send behind

    def write(self, spans: list[SpanData]) -> None:
        self.held += spans
        self.chars += sum(len(v) for s in spans for v in s.attributes.values() if type(v) is str)
        if len(self.held) >= FLUSH_SPANS or self.chars >= FLUSH_CHARS:
            self.flush()

    def flush(self) -> None:
        spans, self.held, self.chars = self.held, [], 0
        if not spans or self.pipeline is None:
            return
        name = f"import.{time.time_ns()}.{next(self.batches):06d}"
        # kept in memory for the send that follows (not read back and decoded again)
        kept = self.pipeline.spool_spans(name, spans, remember=True)
        self.unsent += kept
        if self.unsent >= SEND_EVERY:
            self._send_behind()

    def _send_behind(self) -> None:
        self.wait()
        self.unsent = 0
        self._sending = threading.Thread(target=self._send_catching, name="staso-import-send")
        self._sending.start()

    def _send_catching(self) -> None:
        try:
            self.send()
        except BaseException as exc:  # handed to the import's thread by wait()
            self._failure = exc

    def wait(self) -> None:
        """Until the send in flight is over; what it raised is raised here."""
        if self._sending is not None:
            self._sending.join()
            self._sending = None
        failure, self._failure = self._failure, None
        if failure is not None:
            raise failure

    def send(self, wait_s: float = 0.0) -> None:
        """Send what is spooled, under the worker lock. A live worker holding it sends the
        same spool itself: only the last send waits for it (up to `wait_s`)."""
        from staso_otel.pipeline import worker

        if self.pipeline is None or self.pipeline.settings_error:
            return
        with worker.worker_lock(self.home, timeout_s=wait_s) as held:
            if held:
                sent, _ = self.pipeline.send_spool(force=True)
                self.sent += sent

    def close(self) -> tuple[int, int]:
        """(spans sent, spans left in the spool)."""
        try:
            self.flush()
        finally:
            self.wait()
        if self.pipeline is None:
            return self.sent, 0
        self.send(wait_s=LAST_SEND_WAIT_S)
        self.pipeline.close()
        return self.sent, self.pipeline.report().spans_left


def _batches(records: Iterator[Record]) -> Iterator[list[Record]]:
    while batch := list(itertools.islice(records, BATCH)):
        yield batch


def _units(spans: list[SpanData]) -> list[list[SpanData]]:
    """Spans grouped by the unit (turn, sub-agent run) whose root they hang under; a
    reducer builds and returns each unit whole."""
    by_id = {s.span_id: s for s in spans}

    def root_of(span: SpanData) -> int:
        seen = 0
        while not ledger.is_unit_root(span) and span.parent_span_id in by_id and seen < 64:
            span, seen = by_id[span.parent_span_id], seen + 1
        return span.span_id

    groups: dict[int, list[SpanData]] = {}
    for span in spans:
        groups.setdefault(root_of(span), []).append(span)
    return list(groups.values())


def _mark(spans: list[SpanData], unknown: tuple[str, ...]) -> list[SpanData]:
    extra = {sc.STASO_IMPORTED: True, sc.STASO_IMPORT_UNKNOWN: unknown}
    return [s.with_attributes({**s.attributes, **extra}) for s in spans]


def _context(now_ns: int, capture: bool, max_attribute_bytes: int) -> Context:
    return Context(now_ns, capture_content=capture, max_attribute_bytes=max_attribute_bytes)


def import_session(
    session: Session,
    sink: Sink,
    report: Report,
    *,
    since_ns: int = 0,
    capture: bool = True,
    max_attribute_bytes: int,
    shipped: frozenset[int] = frozenset(),
) -> None:
    """Rebuild one session and hand its new units to `sink`; `max_attribute_bytes` is
    the export's cap, which what the reducer keeps of content must cover. The units
    whose roots are in `shipped` were handed to `sink` (and counted) by a rebuild that
    did not finish (backfill/child.py): left out, and not counted again."""
    synth = _SYNTH[session.target]
    target = targets.get(session.target)
    done = ledger.known(session.target, session.session_id, sink.home)
    stats = {"bytes": 0, "bad_lines": 0}
    state: dict = {}
    last = 0

    def take(spans: list[SpanData]) -> None:
        fresh: list[SpanData] = []
        for unit in _units(spans):
            roots = [s for s in unit if ledger.is_unit_root(s)]
            if roots and roots[0].span_id in shipped:
                continue
            if roots and roots[0].span_id in done:
                report.already += 1
                continue
            if roots and roots[0].start_ns < since_ns:
                continue
            report.turns += sum(1 for r in roots if r.parent_span_id is None)
            fresh += unit
        if fresh:
            sink.write(_mark(fresh, synth.UNKNOWN))
            report.spans += len(fresh)
            done.update(s.span_id for s in fresh if ledger.is_unit_root(s))

    try:
        for batch in _batches(synth.records(session.files, stats)):
            last = batch[-1].received_ns
            # "now" is the batch's time: the reducer reads the transcript up to a little past
            # it, never the whole rest of the file ahead of its turns
            take(target.process(state, batch, _context(last, capture, max_attribute_bytes)))
        take(target.expire(state, _context(last, capture, max_attribute_bytes)))
    except OSError as exc:
        report.skipped.append({"path": session.files[0].path, "why": f"unreadable: {exc}"})
    except Exception as exc:  # one session the reducer cannot use must not stop the rest
        log.internal_error("import")
        report.skipped.append(
            {"path": session.files[0].path, "why": f"could not rebuild: {type(exc).__name__}"}
        )
    report.bytes_read += stats["bytes"]
    if stats["bad_lines"]:
        why = f"{stats['bad_lines']} unreadable or truncated line(s) skipped, the rest imported"
        report.skipped.append({"path": session.files[0].path, "why": why})
    report.sessions += 1


def run(
    found: Found,
    *,
    settings: settings_mod.Settings,
    home: Path | None = None,
    dry_run: bool = False,
    since_ns: int = 0,
    progress: Callable[[Report, Session], None] | None = None,
) -> Report:
    """Import every session of `found`; `progress` is told after each one."""
    home = home or paths.staso_home()
    report = Report(skipped=[{"path": p, "why": w} for p, w in found.skipped])
    sink = Sink(home, settings, dry_run)
    if sink.pipeline is not None and sink.pipeline.settings_error:
        report.errors.append(sink.pipeline.settings_error)
    started = time.monotonic()
    capture = bool(settings.capture_content)
    cap = int(settings.max_attribute_bytes)
    try:
        from staso_otel.backfill import child

        if child.worth_it(found.sessions):
            child.rebuild(
                found.sessions,
                sink,
                report,
                since_ns=since_ns,
                capture=capture,
                max_attribute_bytes=cap,
                progress=progress,
            )
        else:
            for session in found.sessions:
                import_session(
                    session,
                    sink,
                    report,
                    since_ns=since_ns,
                    capture=capture,
                    max_attribute_bytes=cap,
                )
                if progress is not None:
                    progress(report, session)
    finally:
        report.spans_sent, report.spans_left = sink.close()
    log.info("import", f"{report.sessions} sessions in {time.monotonic() - started:.1f}s")
    if report.spans_left and not report.errors:
        from staso_otel.pipeline import worker

        report.errors.append(worker.read_status(home).get("last_error") or "export failed")
    return report


def destination_home(
    endpoint: str, configured: str, home: Path | None = None, *, local: bool = False
) -> Path:
    """Where spool and ledger live for an import to `endpoint`: STASO_HOME itself for the
    endpoint live tracing uses (its ledger knows what the worker sent), else a folder of
    that endpoint's own (`local`: the local store's, whatever port its collector got), so
    its batches are never sent elsewhere by the live worker and "already exported" means
    exported there."""
    import hashlib

    home = home or paths.staso_home()
    if local:
        return home / "import" / "local"
    if endpoint == configured:
        return home
    digest = hashlib.sha256(endpoint.encode()).hexdigest()[:16]
    return home / "import" / digest
