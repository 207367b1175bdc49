"""How many cores are free now: whether a second process would run beside this one. [util]

`staso import` rebuilds in a child process and the worker reduces a backlog in one, each
only when a core is free for it: on cores the others keep busy, the child's start, the
pickling and the switching between the two cost 10-15% more CPU and the work waits for a
core all the same (an import of 100 MB at load 9-11: 4.8 MB/s against 5.5 in one process).
"""

from __future__ import annotations

import os
import time

LOADAVG = "/proc/loadavg"  # `1.05 0.80 0.60 3/214 9071`: the fourth field, runnable now


def free() -> float:
    """The cores this process may use less those the other runnable tasks hold now."""
    return count() - others_running()


def others_running() -> float:
    """The tasks runnable besides this one, now: the median of five reads of LOADAVG's
    count, 2 ms apart (a read counts its reader). The 1-minute load average lags by a
    minute: right after a build or an earlier import it still counts them, and a core
    that was free went unused (100 MB in one process, 41-45 MB/s, against 51-57 with the
    child, the runs a minute apart). Elsewhere than Linux, that average is what there is."""
    counts = []
    for i in range(5):
        try:
            with open(LOADAVG, "rb") as fh:
                counts.append(int(fh.read().split()[3].split(b"/")[0]) - 1)
        except (OSError, ValueError, IndexError):
            return os.getloadavg()[0]
        if i < 4:
            time.sleep(0.002)
    return float(sorted(counts)[2])


def count() -> int:
    """The cores this process may run on (a container's share, not the machine's)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1
