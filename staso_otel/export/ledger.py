"""Which turns have been spooled for export, per session: what `staso import` skips. [export]

A session traced live and later imported (or imported twice) must not be exported twice.
Ids alone do not prevent that (a backend that does not de-duplicate by id shows both), so
whoever spools spans, the worker and `staso import`, notes here the root span id of each
unit it spooled: a turn's root (`invoke_agent <agent>`) or a sub-agent run's
(`invoke_agent <type>`). A unit is built and spooled whole, so its root stands for it.

One small append-only file per session, `STASO_HOME/ledger/<target>/<session>.ids`, one
16-hex-digit span id per line (17 bytes a turn). It is kept after the journal is gone: it
is what still knows, weeks later, that a session was traced live. Spooled counts as
exported: the spool is durable and retried, and a span it finally drops is counted in
`staso flush` as lost, not re-sent by an import.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from staso_otel import paths
from staso_otel import semconv as sc
from staso_otel.record.append import session_file_name
from staso_otel.span.model import SpanData


def ledger_path(target: str, session_id: str, home: Path | None = None) -> Path:
    name = session_file_name(session_id).removesuffix(".jsonl") + ".ids"
    return (home or paths.staso_home()) / "ledger" / target / name


def is_unit_root(span: SpanData) -> bool:
    return span.attributes.get(sc.GEN_AI_OPERATION_NAME) == sc.OP_INVOKE_AGENT


def roots(spans: Iterable[SpanData]) -> dict[tuple[str, str], list[int]]:
    """(target, session) -> the unit roots among `spans`."""
    out: dict[tuple[str, str], list[int]] = {}
    for span in spans:
        session = span.attributes.get(sc.SESSION_ID)
        if is_unit_root(span) and isinstance(session, str) and span.target:
            out.setdefault((span.target, session), []).append(span.span_id)
    return out


def note(spans: Iterable[SpanData], home: Path | None = None) -> None:
    """Record the unit roots of spans just spooled (one append per session)."""
    for (target, session), ids in roots(spans).items():
        path = ledger_path(target, session, home)
        paths.ensure_dir(path.parent)
        fd = paths.open_private(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        try:
            os.write(fd, "".join(f"{i:016x}\n" for i in ids).encode())
        finally:
            os.close(fd)


def known(target: str, session_id: str, home: Path | None = None) -> set[int]:
    """The unit roots already spooled for this session (empty if none)."""
    try:
        data = ledger_path(target, session_id, home).read_bytes()
    except OSError:
        return set()
    out = set()
    for line in data.split(b"\n"):
        try:
            out.add(int(line, 16))
        except ValueError:
            continue  # a torn last line (a writer killed mid-append): that unit is re-sent
    return out
