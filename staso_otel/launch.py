"""How staso starts a Python process of its own: never importing from the caller's folder.
[util]

`python -m module` puts the current directory first on `sys.path`. The worker starts in
the folder the agent works in (its hook's), `staso import`'s child and `staso update`'s
sync in the user's: a project's `dataclasses.py`, `queue.py` or `json/` was imported in
place of the standard library's, so the worker ran the project's file and then failed at
its first import, and no span of that project was ever exported. `-P` (Python 3.11+)
keeps the folder off `sys.path`; Python 3.10 has no `-P`, so a bootstrap of two lines
drops it and runs the module as `-m` would.
"""

from __future__ import annotations

import sys

# `-c` puts "" (the current directory) first on sys.path: dropped before any import
_BOOTSTRAP = (
    "import sys; del sys.path[0]; import runpy; "
    "runpy.run_module(sys.argv.pop(1), run_name='__main__', alter_sys=True)"
)


def module_argv(
    module: str, *args: str, safe_path: bool = sys.version_info >= (3, 11)
) -> list[str]:
    """The argv that runs `python -m module args...` on this interpreter without the
    current directory on `sys.path` (`safe_path`: with `-P`, else the bootstrap)."""
    if safe_path:
        return [sys.executable, "-P", "-m", module, *args]
    return [sys.executable, "-c", _BOOTSTRAP, module, *args]
