"""Per-session reconstruction state: a JSON dict under a file lock, written atomically, 0600.

Only the worker (or `staso flush`, which runs the worker's loop in-process) touches it,
but both may start at once, so every read-modify-write holds the session's lock.
Layout: {"journal": <path>, "offset": <bytes of journal consumed>, "last_ns": <last record
time>, "target": <the target's session, the turn kernel's versioned JSON (turns/state.py)>}.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from staso_otel import log, paths

LOCK_TIMEOUT_S = 30.0


def state_path(target: str, journal_name: str, home: Path | None = None) -> Path:
    return paths.state_dir(home) / target / (journal_name.removesuffix(".jsonl") + ".json")


def _decode(raw: bytes) -> Any:
    """orjson (the state is read and written once per session a worker drains), else the
    standard library for what orjson refuses and an earlier release's json wrote (a lone
    surrogate escape, NaN, an integer past 64 bits)."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)


def _encode(data: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(data)
    except TypeError:  # what orjson refuses (see _decode): json writes it as before
        return json.dumps(data, separators=(",", ":")).encode()


def _load(path: Path) -> dict[str, Any]:
    try:
        data = _decode(path.read_bytes())
        if not isinstance(data, dict):
            raise ValueError("not an object")
        return data
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, RecursionError) as exc:
        # A corrupt state must not block the session forever: start over from the
        # journal's beginning (ids are deterministic, so re-sent spans de-duplicate).
        log.warning("state", f"corrupt state {path.name} reset: {exc}")
        return {}


@dataclass
class Held:
    """A session's state with its lock held (`acquire`), until `release`."""

    path: Path
    data: dict[str, Any]
    fd: int


def lock_path(path: Path) -> Path:
    """The file whose flock is the session's lock (made on first use, kept)."""
    return Path(str(path) + ".lock")


def make_lock(path: Path) -> None:
    """Create the session's lock file if missing, without taking the lock: a creation
    costs 0.3 ms or more here, which a process with time to spare can pay ahead."""
    lock = lock_path(path)
    paths.ensure_dir(lock.parent)
    os.close(paths.open_private(lock, os.O_RDWR | os.O_CREAT))


def acquire(path: Path) -> Held:
    """Take the session's lock and load its state (TimeoutError past LOCK_TIMEOUT_S)."""
    fd = paths.lock_fd(lock_path(path), LOCK_TIMEOUT_S)
    try:
        return Held(path, _load(path), fd)
    except BaseException:
        os.close(fd)
        raise


def save(held: Held) -> None:
    # Not fsynced: the spool batches made from the records are, before this rename
    # (a span is durable before its journal offset advances). A power cut that loses
    # this write only re-reads those records, which rewrites the same batches (their
    # names are the journal offsets); one that empties it restarts the session, whose
    # spans have the same ids. One fsync per session fewer, as a worker drains many.
    paths.atomic_write(held.path, _encode(held.data), durable=False)


def release(held: Held) -> None:
    os.close(held.fd)  # releases the lock


@contextmanager
def locked(path: Path) -> Iterator[dict[str, Any]]:
    """Yield the state dict; it is saved when the block exits without an exception."""
    held = acquire(path)
    try:
        yield held.data
        save(held)
    finally:
        release(held)


def delete(path: Path) -> None:
    path.unlink(missing_ok=True)
    Path(str(path) + ".lock").unlink(missing_ok=True)


def all_states(home: Path | None = None) -> Iterator[tuple[str, Path]]:
    root = paths.state_dir(home)
    if not root.is_dir():
        return
    for target_dir in sorted(root.iterdir()):
        if target_dir.is_dir() and not target_dir.is_symlink():
            for path in sorted(target_dir.glob("*.json")):
                yield target_dir.name, path
