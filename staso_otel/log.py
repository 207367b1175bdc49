"""Runtime log lines under STASO_HOME/logs, rotated by size, and the error boundary. [stdlib]

The hook cannot afford `import logging` on its hot path, and nothing may ever reach the
hook's stdout, so this is a tiny appender: one line per event, `O_APPEND` so concurrent
hooks do not interleave within a line, rotated to `.1` .. `.3` past 1 MiB.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
import traceback

from staso_otel import paths

MAX_BYTES = 1024 * 1024
BACKUPS = 3
LOG_NAME = "staso.log"


def _rotate(path: str) -> None:
    for i in range(BACKUPS - 1, 0, -1):
        with contextlib.suppress(FileNotFoundError):
            os.replace(f"{path}.{i}", f"{path}.{i + 1}")
    with contextlib.suppress(FileNotFoundError):
        os.replace(path, f"{path}.1")


def write(level: str, component: str, message: str) -> None:
    """Append one line; never raises (a log that fails must not fail the caller)."""
    try:
        folder = paths.ensure_dir(paths.logs_dir())
        path = str(folder / LOG_NAME)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
        line = f"{stamp}Z {level} {component} pid={os.getpid()} {message}".replace("\n", "\\n")
        fd = paths.open_private(folder / LOG_NAME, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        try:
            os.write(fd, line.encode("utf-8", "replace")[:8192] + b"\n")
            size = os.fstat(fd).st_size
        finally:
            os.close(fd)
        if size > MAX_BYTES:
            _rotate(path)
    except Exception:
        pass


def info(component: str, message: str) -> None:
    write("INFO", component, message)


def warning(component: str, message: str) -> None:
    write("WARN", component, message)


def _raise_internal() -> bool:
    return os.environ.get("STASO_RAISE_INTERNAL", "").strip().lower() in {"1", "true", "yes"}


def internal_error(component: str) -> None:
    """Log the exception being handled in one line; re-raise only when STASO_RAISE_INTERNAL=1.

    Called from the one `except Exception` at each process boundary (hook, worker, API
    context managers), so the traced agent keeps running whatever staso does wrong.
    """
    exc_type, exc, tb = sys.exc_info()
    where = ""
    if tb is not None:
        frame = traceback.extract_tb(tb)[-1]
        where = f" at {os.path.basename(frame.filename)}:{frame.lineno}"
    write("ERROR", component, f"{exc_type.__name__ if exc_type else 'Error'}: {exc}{where}")
    if _raise_internal() and exc is not None:
        raise exc
