"""Start the detached export worker unless one already holds the worker lock. [stdlib, os only]

One worker per STASO_HOME, decided by an flock on `run/worker.lock` (a lock, not a pid
guess: a dead worker's lock is released by the kernel). The hook only probes the lock;
the worker takes it itself and exits at once if another won the race. A worker re-checks
the journals after releasing the lock, so a record appended while it was exiting is
never stranded.
"""

from __future__ import annotations

import fcntl
import os
import sys

from staso_otel.record import append

WORKER_MODULE = "staso_otel.pipeline.start"  # looks for work before loading the worker


def worker_lock_path(home: object = None) -> str:
    """STASO_HOME/run/worker.lock (home: a str or Path, None for the default)."""
    return _lock_file(None if home is None else str(home))


def _lock_file(home: str | None) -> str:
    return os.path.join(home or append.staso_home(), "run", "worker.lock")


def worker_running(home: object = None) -> bool:
    """True if a live process holds the worker lock."""
    path = _lock_file(None if home is None else str(home))
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, append.FILE_MODE)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def ensure_worker(home: object = None) -> bool:
    """Spawn a worker if none runs; returns True when one was started."""
    home_str = None if home is None else str(home)
    append.ensure_dir(os.path.dirname(_lock_file(home_str)))
    if worker_running(home_str):
        return False
    spawn_worker()
    return True


def spawn_worker() -> int:
    """posix_spawn, not subprocess: cheaper to import, and setsid + /dev/null on 0-2 detach
    it fully, so Codex (which waits for the hook's pipes to close) never waits for it."""
    devnull = os.devnull
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, devnull, os.O_WRONLY, 0),
        (os.POSIX_SPAWN_OPEN, 2, devnull, os.O_WRONLY, 0),
    ]
    argv = worker_argv()
    return os.posix_spawn(sys.executable, argv, dict(os.environ), file_actions=actions, setsid=True)


def worker_argv() -> list[str]:
    """The worker's command line. It starts in the agent's folder and environment: it
    imports neither that folder's files nor what its PYTHON* variables name (launch.py)."""
    from staso_otel.launch import module_argv

    return module_argv(WORKER_MODULE, ignore_environment=True)
