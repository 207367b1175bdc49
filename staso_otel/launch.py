"""How staso starts a Python process of its own: never importing from the caller's folder.
[util]

`python -m module` puts the current directory first on `sys.path`. The worker starts in
the folder the agent works in (its hook's), `staso import`'s child and `staso update`'s
sync in the user's: a project's `dataclasses.py`, `queue.py` or `json/` was imported in
place of the standard library's, so the worker ran the project's file and then failed at
its first import, and no span of that project was ever exported. `-P` (Python 3.11+)
keeps the folder off `sys.path`; Python 3.10 has no `-P`, so a bootstrap of two lines
drops it and runs the module as `-m` would.

The worker also ignores the PYTHON* variables of the agent's environment (`-E`), as the
hook does (`-I`): a PYTHONHOME meant for another Python stopped it before its first
line, a PYTHONPATH holding other versions of its dependencies (a ROS or a system
setup's) shadowed them. A helper of a staso command (`staso import`'s child) keeps them:
it runs as the command itself ran.
"""

from __future__ import annotations

import sys

# `-c` puts "" (the current directory) first on sys.path: dropped before any import
_BOOTSTRAP = (
    "import sys; del sys.path[0]; import runpy; "
    "runpy.run_module(sys.argv.pop(1), run_name='__main__', alter_sys=True)"
)


def module_argv(
    module: str,
    *args: str,
    ignore_environment: bool = False,
    safe_path: bool = sys.version_info >= (3, 11),
) -> list[str]:
    """The argv that runs `python -m module args...` on this interpreter without the
    current directory on `sys.path` (`safe_path`: with `-P`, else the bootstrap), and
    with `ignore_environment`, without the PYTHON* variables (`-E`)."""
    flags = ["-E"] if ignore_environment else []
    if safe_path:
        return [sys.executable, *flags, "-P", "-m", module, *args]
    return [sys.executable, *flags, "-c", _BOOTSTRAP, module, *args]
