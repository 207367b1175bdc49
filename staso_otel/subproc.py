"""What staso's helper processes share: a wide pipe and a quiet entry point. [util]

`staso import` rebuilds in a child process (backfill/child.py) and the worker reduces a
backlog in one (pipeline/ahead.py). Each talks to its parent over a pipe, and neither may
print a traceback: the parent redoes or reports whatever a child did not finish.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable


def widen(fd: int, size: int) -> None:
    """A pipe of `size` bytes where Linux allows it (elsewhere the default is kept): a few
    sessions' spans, where a 64 KB pipe switched between the two processes every few."""
    with contextlib.suppress(OSError, AttributeError):  # F_SETPIPE_SZ: Linux only
        import fcntl

        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, size)


def entry(component: str, body: Callable[[], None]) -> int:
    """A child's main: 0 once `body` returns; 1, quietly, when its parent is gone (a
    broken pipe, the Ctrl-C it got too) or `body` fails (logged under `component`)."""
    try:
        body()
    except (KeyboardInterrupt, BrokenPipeError):
        return 1
    except Exception:
        from staso_otel import log

        log.internal_error(component)
        return 1
    return 0
