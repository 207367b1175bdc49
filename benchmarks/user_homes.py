"""Where a benchmark keeps the staso home it measures: on the user's home filesystem.

staso writes where `~/.staso` is. A temporary directory lives under /tmp, which can be
a different filesystem (tmpfs) or the same one in a different state: on the machine these
figures come from, creating a file under /tmp took 0.3 ms and under $HOME 0.016 ms (same
ext4 device), and the worker creates four files per new session (its lock, the staged
batch, the state, the import ledger). So the homes a benchmark makes sit under
`~/.cache/staso-bench/`, as the user's own would, and are removed after.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

BASE = Path.home() / ".cache" / "staso-bench"


def scratch(prefix: str) -> tempfile.TemporaryDirectory[str]:
    """A TemporaryDirectory under BASE (created if missing)."""
    BASE.mkdir(parents=True, exist_ok=True)
    return tempfile.TemporaryDirectory(prefix=prefix, dir=BASE, ignore_cleanup_errors=True)


def mkdtemp(prefix: str) -> str:
    """tempfile.mkdtemp under BASE, for a home the caller removes itself."""
    BASE.mkdir(parents=True, exist_ok=True)
    return tempfile.mkdtemp(prefix=prefix, dir=BASE)
