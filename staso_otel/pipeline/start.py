"""The worker the hook spawns: look for work with `os` calls, load the worker if any. [stdlib]

A hook spawns a worker whenever none holds the lock, so a start often finds that the
worker before it, or a `staso flush`, already took the records. Importing the worker
(targets, orjson, and later the SDK and exporter) costs several bare
interpreters' CPU; this look costs about one. Work is: a journal with bytes past its
state's offset (or no state yet), a journal idle long enough to be expired, an ended
session past its resume grace (its journal and state go), a spool batch waiting for
export, or a parked (rejected) batch whose hourly retry is due: a worker that left
before that hour hands the retry to the next start. The look takes no lock: a hook
appending meanwhile finds the worker lock free and spawns another worker, so nothing is
stranded.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator

from staso_otel.record import append

# = targets.base.IDLE_EXPIRY_NS (a test keeps them equal; importing it here would load
# dataclasses and the journal reader, the cost this module avoids)
IDLE_EXPIRY_NS = 24 * 3600 * 1_000_000_000
BATCH_SUFFIX = ".batch"  # = export.spool.SUFFIX
PARKED = "parked"  # = export.spool.PARKED
CLOSED_GRACE_NS = 10 * 60 * 1_000_000_000  # = pipeline.session.CLOSED_GRACE_NS
# Paths the environment may give relative to the folder the worker starts in: made
# absolute before it leaves that folder (the settings' path parameters and the agents'
# homes; a test keeps the list whole).
PATH_VARIABLES = (
    "STASO_HOME",
    "CODEX_HOME",
    "CLAUDE_CONFIG_DIR",
    "GEMINI_CLI_HOME",
    "STASO_CERTIFICATE",
    "STASO_CLIENT_CERTIFICATE",
    "STASO_CLIENT_KEY",
    "OTEL_EXPORTER_OTLP_CERTIFICATE",
    "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE",
    "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
    "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE",
    "OTEL_EXPORTER_OTLP_CLIENT_KEY",
    "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
)


def _entries(folder: str) -> list[os.DirEntry]:
    try:
        with os.scandir(folder) as it:
            return list(it)
    except OSError:
        return []


def _consumed(state_file: str) -> tuple[int | None, int]:
    """The journal bytes a session's state has consumed, and when its session ended (0)."""
    try:
        with open(state_file, "rb") as fh:
            data = json.load(fh)
        offset, ended = data.get("offset"), data.get("ended_ns") or 0
    except (OSError, ValueError, AttributeError):
        return None, 0
    return (offset if isinstance(offset, int) else None), (ended if isinstance(ended, int) else 0)


def _journals(home: str) -> Iterator[tuple[str, os.stat_result, int | None, int]]:
    """(path, stat, the offset its state has consumed, when its session ended) of each
    session journal."""
    for target in _entries(os.path.join(home, "journal")):
        if not target.is_dir(follow_symlinks=False):
            continue
        for entry in _entries(target.path):
            if not entry.name.endswith(".jsonl") or not entry.is_file(follow_symlinks=False):
                continue
            name = entry.name.removesuffix(".jsonl") + ".json"
            offset, ended = _consumed(os.path.join(home, "state", target.name, name))
            yield entry.path, entry.stat(follow_symlinks=False), offset, ended


def unprocessed(home: str) -> list[tuple[int, int]]:
    """(bytes recorded past the state's offset, the journal's last append in ns) of each
    session journal holding a whole record the worker has not read: what `staso status`
    asks about. A last line without its newline alone is not counted (a hook killed
    mid-append: the next worker skips it)."""
    found = []
    for path, st, offset, _ in _journals(home):
        offset = offset or 0
        if offset < st.st_size and _holds_a_record(path, offset, st.st_size):
            found.append((st.st_size - offset, st.st_mtime_ns))
    return found


def _holds_a_record(path: str, offset: int, size: int) -> bool:
    """A newline past `offset`: a whole record (more than 64 KB unread counts as one)."""
    if size - offset > 65536:
        return True
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            return b"\n" in fh.read(65536)
    except OSError:
        return False


def has_work(home: str) -> bool:
    """Anything the worker would do now (see the module docstring)."""
    now = time.time_ns()
    for _, st, offset, ended in _journals(home):
        if offset != st.st_size or now - st.st_mtime_ns > IDLE_EXPIRY_NS:
            return True
        if ended and now - ended > CLOSED_GRACE_NS:
            return True  # an ended session's journal and state are due to go
    spool = os.path.join(home, "spool")
    if any(e.name.endswith(BATCH_SUFFIX) for e in _entries(spool)):
        return True
    parked = _entries(os.path.join(spool, PARKED))
    return any(e.name.endswith(BATCH_SUFFIX) and _due(e.path, now) for e in parked)


def _due(batch: str, now_ns: int) -> bool:
    """Whether a parked batch's next attempt (its header line) is due."""
    try:
        with open(batch, "rb") as fh:
            header = json.loads(fh.readline())["header"]
        due = header.get("next_attempt_ns") or 0
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return True  # unreadable: the worker's own load decides what it is
    return not isinstance(due, int) or due <= now_ns


def leave_folder() -> None:
    """Let go of the folder the worker started in (the agent's: a hook's), as a daemon
    does: a worker waiting out a retry stays up to a day, and a folder a process is in
    cannot be unmounted (a USB drive, a network share, a container's volume) nor is it
    free on some systems to be removed. Relative paths in the environment keep their
    meaning."""
    try:
        here = os.getcwd()
    except OSError:  # removed already: a relative path meant nothing anyway
        here = None
    for name in PATH_VARIABLES:
        value = os.environ.get(name)
        if here and value and not os.path.isabs(value) and not value.startswith("~"):
            os.environ[name] = os.path.join(here, value)
    os.chdir("/")


def main() -> None:
    leave_folder()
    if not has_work(append.staso_home()):
        sys.exit(0)
    from staso_otel.pipeline import worker

    sys.exit(worker.run_worker())


if __name__ == "__main__":
    main()
