"""Where staso keeps its files, and the few safe ways to write them. [stdlib]

Everything under STASO_HOME is private to the user: folders 0700, files 0600, written
atomically (temp file + rename) and never through a symlink, because a hook runs with the
user's full rights inside whatever repository the agent happens to be working on.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def staso_home() -> Path:
    """`STASO_HOME`, else `~/.staso`."""
    value = os.environ.get("STASO_HOME")
    return Path(value).expanduser() if value else Path.home() / ".staso"


def codex_home() -> Path:
    """`CODEX_HOME`, else `~/.codex`."""
    value = os.environ.get("CODEX_HOME")
    return Path(value).expanduser() if value else Path.home() / ".codex"


def claude_home() -> Path:
    """`CLAUDE_CONFIG_DIR`, else `~/.claude`."""
    value = os.environ.get("CLAUDE_CONFIG_DIR")
    return Path(value).expanduser() if value else Path.home() / ".claude"


# The layout of STASO_HOME, in one place.
def settings_file(home: Path | None = None) -> Path:
    return (home or staso_home()) / "settings.json"


def credentials_file(home: Path | None = None) -> Path:
    return (home or staso_home()) / "credentials.json"


def journal_dir(home: Path | None = None) -> Path:
    """Per-session append-only records written by hooks."""
    return (home or staso_home()) / "journal"


def quarantine_dir(home: Path | None = None) -> Path:
    """Hook input that could not be read as an event, kept for inspection."""
    return (home or staso_home()) / "quarantine"


def state_dir(home: Path | None = None) -> Path:
    """Per-session reconstruction state, owned by the worker."""
    return (home or staso_home()) / "state"


def spool_dir(home: Path | None = None) -> Path:
    """Span batches waiting for export."""
    return (home or staso_home()) / "spool"


def logs_dir(home: Path | None = None) -> Path:
    return (home or staso_home()) / "logs"


def console_spans_file(home: Path | None = None) -> Path:
    """Where OTEL_TRACES_EXPORTER=console writes: the detached worker has no terminal."""
    return logs_dir(home) / "console-spans.jsonl"


def run_dir(home: Path | None = None) -> Path:
    """Locks and the worker's status file."""
    return (home or staso_home()) / "run"


def store_file(home: Path | None = None) -> Path:
    """The local SQLite store of `staso collector`."""
    return (home or staso_home()) / "local" / "traces.sqlite"


def install_dir(home: Path | None = None) -> Path:
    """What each `staso setup` wrote, so uninstall removes exactly that."""
    return (home or staso_home()) / "install"


# Every name staso creates directly under STASO_HOME (`staso uninstall --purge` removes
# these and nothing else, in case STASO_HOME is a folder holding the user's own files).
HOME_ENTRIES = frozenset(
    {
        "settings.json",
        "credentials.json",
        "journal",
        "quarantine",
        "state",
        "spool",
        "logs",
        "run",
        "local",
        "install",
    }
)


def refuse_symlinks(path: Path) -> None:
    """Refuse `path` if it, or any folder between STASO_HOME and it, is a symlink: a
    planted link must not redirect what staso writes. (STASO_HOME itself may be a link:
    that is the user's own choice.)"""
    # On strings, one lstat per level: Path.parents comparisons made this a tenth of the
    # cost of every state and spool write.
    home = str(staso_home())
    current = str(path)
    inside = current.startswith(home.rstrip("/") + "/")
    while True:
        if os.path.islink(current):
            raise PermissionError(f"refusing symlinked staso path: {current}")
        if current == home or not inside:
            return
        current = os.path.dirname(current)


def ensure_dir(path: Path) -> Path:
    """Create `path` (and parents) as 0700; refuse a symlink in its place."""
    refuse_symlinks(path)
    if path.is_dir():
        return path
    # mkdir(parents=True) gives intermediate folders the umask's mode, not 0700: create
    # each missing level ourselves.
    missing = []
    current = path
    while not current.exists() and current != current.parent:
        missing.append(current)
        current = current.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=DIR_MODE)
        except FileExistsError:
            continue
        os.chmod(folder, DIR_MODE)  # mkdir's mode is masked by the umask
    return path


def open_private(path: Path, flags: int) -> int:
    """os.open with 0600 and O_NOFOLLOW: a planted symlink makes this fail, not write elsewhere."""
    return os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, FILE_MODE)


def wait_flock(fd: int, timeout_s: float) -> bool:
    """Take an exclusive flock on `fd`, waiting up to `timeout_s`; False if it stayed held."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)


@contextlib.contextmanager
def file_lock(path: Path, timeout_s: float) -> Iterator[None]:
    """Hold an exclusive flock on `path` (made 0600 if missing); TimeoutError after timeout_s.

    The lock filelock's FileLock takes on Unix (flock on the same file, left in place), so
    a process of an earlier release that uses filelock and this one exclude each other.
    By hand because the worker takes one per session: filelock's import was a third of a
    cold worker's own imports and each acquire about 4 ms; this is one system call.
    """
    fd = lock_fd(path, timeout_s)
    try:
        yield
    finally:
        os.close(fd)  # releases the lock


def lock_fd(path: Path, timeout_s: float) -> int:
    """file_lock's lock, held until the returned fd is closed (it may be closed on another
    thread: the worker releases a session's lock once its batches are durable)."""
    ensure_dir(path.parent)
    fd = open_private(path, os.O_RDWR | os.O_CREAT)
    try:
        if not wait_flock(fd, timeout_s):
            raise TimeoutError(f"{path.name} is held by another process")
    except BaseException:
        os.close(fd)
        raise
    return fd


def atomic_write(
    path: Path, data: bytes, mode: int = FILE_MODE, *, durable: bool = True, make_dirs: bool = True
) -> None:
    """Write `data` to `path` so readers see the old or the new file, never a half.

    The temp file lives in the same folder (rename is atomic only within one filesystem);
    fsync before rename so a crash of the machine cannot leave an empty file under the
    real name. `durable=False` skips the fsync, for files whose loss in a power cut only
    repeats work (a killed process loses nothing either way: the kernel has the data).
    `make_dirs=False`: a missing folder raises FileNotFoundError instead of being made.
    """
    if make_dirs:
        ensure_dir(path.parent)
    refuse_symlinks(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
