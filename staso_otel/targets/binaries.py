"""Which release of an agent's CLI is installed: `<binary> --version`. [targets]"""

from __future__ import annotations

import re
import shutil
import subprocess

Version = tuple[int, int, int]


def version(name: str, binary: str | None = None, timeout_s: float = 30) -> Version | None:
    """The first x.y.z that `<binary or name on PATH> --version` prints; None when the
    program is missing, fails or prints no version."""
    exe = binary or shutil.which(name)
    if not exe:
        return None
    try:
        out = subprocess.run(
            [exe, "--version"],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            stdin=subprocess.DEVNULL,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"(\d+)\.(\d+)\.(\d+)", out)
    return (int(match[1]), int(match[2]), int(match[3])) if match else None
