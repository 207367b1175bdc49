"""Appending one record to a session journal: the hook's whole write path. [stdlib, os only]

Kept apart from `journal.py` (which the worker uses to read) because every import here
is paid on every hook event: no pathlib, no re, no dataclasses — plain `os` calls, about
a millisecond in all. Journals live at STASO_HOME/journal/<target>/<session>.jsonl.
"""

from __future__ import annotations

import errno
import fcntl
import os
import time

NO_SPACE = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
VERSION = 1
DIR_MODE = 0o700
FILE_MODE = 0o600
QUARANTINE_MAX_BYTES = 64 * 1024
MAX_PLAIN_ID = 128
_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


def staso_home() -> str:
    """Same rule as paths.staso_home(), as a string."""
    return os.environ.get("STASO_HOME") or os.path.join(os.path.expanduser("~"), ".staso")


def is_plain_id(session_id: str) -> bool:
    """Usable as a file name as it is: short, ASCII letters, digits and `._-`, no dotfile."""
    return (
        0 < len(session_id) <= MAX_PLAIN_ID and session_id[0].isalnum() and set(session_id) <= _SAFE
    )


def session_file_name(session_id: str) -> str:
    """A session id as a file name; anything unusual is hashed rather than trusted."""
    if is_plain_id(session_id):
        return f"{session_id}.jsonl"
    import hashlib  # rare path: only for odd ids

    digest = hashlib.sha256(session_id.encode("utf-8", "replace")).hexdigest()[:32]
    return f"h-{digest}.jsonl"


def ensure_dir(path: str) -> None:
    """Create missing folders as 0700 (each level: mkdir(parents) would use the umask).
    Folders below STASO_HOME must not be symlinks: a planted link must not redirect us."""
    below = staso_home() + os.sep
    current = path
    while current.startswith(below):
        if os.path.islink(current):
            raise PermissionError(f"refusing symlinked staso directory: {current}")
        current = os.path.dirname(current)
    _make_dirs(path)


def _make_dirs(path: str) -> None:
    if os.path.isdir(path):
        return
    parent = os.path.dirname(path)
    if parent and parent != path:
        _make_dirs(parent)
    try:
        os.mkdir(path, DIR_MODE)
    except FileExistsError:
        return
    os.chmod(path, DIR_MODE)


def locked_append(path: str, line: bytes) -> None:
    """Append under flock: parallel tool hooks write the same journal at the same time.

    Every record starts on a fresh line: a writer killed mid-append leaves a torn line,
    and a record glued onto it would be lost with it. A write that fails (disk full) is
    taken back, so it leaves nothing torn (shrinking a file needs no space)."""
    ensure_dir(os.path.dirname(path))
    flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(path, flags, FILE_MODE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            line = b"\n" + line
        try:
            view = memoryview(line)
            while view:
                view = view[os.write(fd, view) :]
        except OSError:
            try:  # noqa: SIM105 - contextlib is an import the hook does not otherwise pay
                os.ftruncate(fd, size)
            except OSError:
                pass  # the reader skips a torn line anyway
            raise
    finally:
        os.close(fd)  # closing releases the flock


def encode(target: str, received_ns: int, raw_payload: bytes) -> bytes:
    """One journal line embedding the payload's own bytes (already checked to be a JSON object).

    Newlines can only sit between JSON tokens (inside strings they are escaped), so
    folding them to spaces keeps the object equal and the record on one line.
    """
    body = raw_payload.strip().replace(b"\r", b" ").replace(b"\n", b" ")
    head = f'{{"v":{VERSION},"target":"{target}","received_ns":{received_ns},"payload":'
    return head.encode() + body + b"}\n"


def journal_path(target: str, session_id: str, home: str | None = None) -> str:
    return os.path.join(home or staso_home(), "journal", target, session_file_name(session_id))


def append(
    target: str, session_id: str, received_ns: int, raw_payload: bytes, home: str | None = None
) -> str:
    path = journal_path(target, session_id, home)
    locked_append(path, encode(target, received_ns, raw_payload))
    return path


def quarantine(
    target: str, received_ns: int, raw: bytes, reason: str, home: str | None = None
) -> None:
    """Keep input we could not read as an event, capped, so a bug report has evidence."""
    import json

    entry = {
        "target": target,
        "received_ns": received_ns,
        "reason": reason,
        "size": len(raw),
        "raw": raw[:QUARANTINE_MAX_BYTES].decode("utf-8", "replace"),
    }
    path = os.path.join(home or staso_home(), "quarantine", "events.jsonl")
    locked_append(path, json.dumps(entry).encode() + b"\n")


# -- a full disk -----------------------------------------------------------------------
# While the disk is full every hook fails to append; a log line each would be one per event
# (and the log sits on the same full disk). A flag file marks the outage instead: the hook
# that creates it logs, if the log still has room; the first hook that appends once there
# is room again removes it and logs the outage with its start, which then always fits.


def no_space_flag(home: str | None = None) -> str:
    return os.path.join(home or staso_home(), "run", "no-space")


def note_no_space(exc: OSError, home: str | None = None) -> None:
    """An event was dropped for want of space: log it if it is the first one."""
    path = no_space_flag(home)
    try:
        ensure_dir(os.path.dirname(path))
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, FILE_MODE)
    except OSError:  # exists: already logged; anything else: nowhere to note it
        return
    os.close(fd)
    from staso_otel import log  # only on this rare path: it costs imports

    log.warning("hook", f"disk full ({exc.strerror}): dropping events until there is room")


def note_recorded(home: str | None = None) -> None:
    """An event was recorded: if an outage was noted, it is over (one stat otherwise)."""
    path = no_space_flag(home)
    try:
        since = os.stat(path).st_mtime
        os.unlink(path)
    except OSError:  # no outage, or another hook ended it and logs it
        return
    from staso_otel import log

    start = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(since))
    log.warning("hook", f"disk full since {start}Z: events were dropped; recording again")
