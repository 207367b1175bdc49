"""The session-state and loss-count locks: flock by hand, as filelock took it.

filelock's import was a third of a cold worker's own imports, and every acquire cost
about 4 ms, once per session the worker processes. `paths.file_lock` takes the same lock
(flock on the same `.lock` file), so a worker or `staso flush` of an earlier release,
which used filelock, and this one still exclude each other.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import filelock
import pytest

from staso_otel import paths
from staso_otel.record import state


def test_the_worker_takes_its_locks_without_importing_filelock(tmp_path: Path):
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from staso_otel.record import state\n"
        "from staso_otel.export import losses\n"
        "from staso_otel.pipeline import worker\n"
        f"p = Path({str(tmp_path / 's.json')!r})\n"
        "with state.locked(p) as st:\n"
        "    st['offset'] = 7\n"
        f"losses.add(losses.DROPPED, 'test', 1, Path({str(tmp_path)!r}))\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'filelock'))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert json.loads(out.stdout.replace("'", '"')) == []
    assert json.loads((tmp_path / "s.json").read_text())["offset"] == 7


def test_a_lock_held_through_filelock_excludes_this_one_and_back(tmp_path: Path):
    path = tmp_path / "session.json.lock"
    held = filelock.FileLock(str(path))
    with held, pytest.raises(TimeoutError), paths.file_lock(path, 0.2):
        pass
    with paths.file_lock(path, 0.2), pytest.raises(filelock.Timeout):
        filelock.FileLock(str(path), timeout=0.2).acquire()
    with paths.file_lock(path, 0.2):  # released: free again
        pass


def test_a_state_lock_that_stays_held_times_out_and_leaves_the_state(tmp_path, monkeypatch):
    spath = tmp_path / "state" / "codex" / "s.json"
    with state.locked(spath) as st:
        st["offset"] = 3
    monkeypatch.setattr(state, "LOCK_TIMEOUT_S", 0.2)
    lock = paths.file_lock(Path(str(spath) + ".lock"), 1)
    with lock, pytest.raises(TimeoutError), state.locked(spath) as st:
        st["offset"] = 99
    assert json.loads(spath.read_text())["offset"] == 3
    assert oct(Path(str(spath) + ".lock").stat().st_mode & 0o777) == "0o600"
