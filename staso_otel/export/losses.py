"""What the pipeline dropped, skipped or repaired, counted by cause until reported. [export]

Every place that gives up on data on purpose (the spool's bound, a corrupt spool line, a
record no target can use, a string that is not valid Unicode) adds to these counts, so
`staso status` and `staso flush` can say what was lost and why instead of only the log.
`staso flush` reports them and starts the count again (`acknowledge`).

Layout of `run/losses.json`: {"since_ns": <first count or last acknowledge>,
"counts": {"<kind>": {"<cause>": n}}}; kinds are DROPPED (spans), SKIPPED (records),
REPAIRED (spans kept with lone surrogates replaced). Hook inputs that were not events are
counted from the quarantine file the hook writes (QUARANTINED), newer than `since_ns`.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from staso_otel import paths

DROPPED = "dropped"
SKIPPED = "skipped"
REPAIRED = "repaired"
QUARANTINED = "quarantined"  # counted from quarantine/ itself, which the hook writes
LOST_KINDS = (DROPPED, SKIPPED, QUARANTINED)  # will never arrive: flush and status exit 1
UNITS = {DROPPED: "spans", SKIPPED: "records", REPAIRED: "spans", QUARANTINED: "hook inputs"}


def _path(home: Path | None) -> Path:
    return paths.run_dir(home) / "losses.json"


def _read(path: Path) -> dict:
    try:
        data = json.loads(path.read_bytes())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def add(kind: str, cause: str, count: int = 1, home: Path | None = None) -> None:
    """Count `count` items of `kind` lost to `cause`; never raises (it runs on error paths)."""
    if count <= 0:
        return
    try:
        path = _path(home)
        paths.ensure_dir(path.parent)
        with paths.file_lock(Path(str(path) + ".lock"), 10):
            data = _read(path)
            data.setdefault("since_ns", time.time_ns())
            causes = data.setdefault("counts", {}).setdefault(kind, {})
            causes[cause] = int(causes.get(cause, 0)) + count
            paths.atomic_write(path, json.dumps(data).encode())
    except Exception:  # counting must not turn a handled fault into a crash
        pass


def read(home: Path | None = None) -> dict[str, dict[str, int]]:
    """{kind: {cause: count}} since the last acknowledge."""
    counts = _read(_path(home)).get("counts", {})
    return counts if isinstance(counts, dict) else {}


def since_ns(home: Path | None = None) -> int:
    return int(_read(_path(home)).get("since_ns", 0) or 0)


def acknowledge(home: Path | None = None) -> None:
    """Start counting again (after `staso flush` has reported the counts)."""
    path = _path(home)
    paths.ensure_dir(path.parent)
    with paths.file_lock(Path(str(path) + ".lock"), 10):
        paths.atomic_write(path, json.dumps({"since_ns": time.time_ns(), "counts": {}}).encode())


def quarantined(home: Path | None = None, after_ns: int = 0) -> dict[str, int]:
    """Hook inputs that were not events (kept in quarantine/), by reason, newer than after_ns."""
    out: dict[str, int] = {}
    try:
        with open(paths.quarantine_dir(home) / "events.jsonl", "rb") as fh:
            for line in fh:
                try:
                    entry = json.loads(line)
                    if int(entry.get("received_ns", 0)) <= after_ns:
                        continue
                    reason = str(entry.get("reason", "unreadable")).split(":")[0]
                except (ValueError, TypeError, AttributeError):
                    reason = "unreadable"
                out[reason] = out.get(reason, 0) + 1
    except OSError:
        pass
    return out


def current(home: Path | None = None) -> dict[str, dict[str, int]]:
    """Everything lost or changed since the last acknowledge, quarantined inputs included."""
    counts = {kind: dict(causes) for kind, causes in read(home).items()}
    q = quarantined(home, since_ns(home))
    if q:
        counts[QUARANTINED] = q
    return counts


def summary(counts: dict[str, dict[str, int]]) -> list[str]:
    """One phrase per kind and cause: '12 spans dropped (spool over its bound)'."""
    out = []
    for kind in (DROPPED, SKIPPED, QUARANTINED, REPAIRED):
        for cause, n in sorted(counts.get(kind, {}).items()):
            out.append(f"{n} {UNITS[kind]} {kind} ({cause})")
    return out


def any_lost(counts: dict[str, dict[str, int]]) -> bool:
    return any(n for kind in LOST_KINDS for n in counts.get(kind, {}).values())
