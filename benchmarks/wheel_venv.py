"""The interpreter benchmarks measure: staso installed from a wheel of this checkout.

Users get staso with `pip install staso`, a wheel in site-packages. The development
`.venv` has it editable instead, and its `__editable__` path hook runs in every
interpreter it starts, which slows each start and flatters every ratio to a bare one.
So a benchmark runs what it measures with `python()`: a venv under `.cache/` where
`pip install .` built and installed a wheel, made once per state of the sources (a hash
of the packaged files is kept beside it) and reused after.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache"
PACKAGED = ("staso_otel", "cli")
TARGET = CACHE / "bench-wheel"


def _digest(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for path in paths:
        h.update(str(path.relative_to(ROOT)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def _sources() -> list[Path]:
    found = [ROOT / "pyproject.toml", ROOT / "README.md"]
    for folder in PACKAGED:
        found += sorted(
            p for p in (ROOT / folder).rglob("*") if p.is_file() and "__pycache__" not in p.parts
        )
    return found


def venv() -> Path:
    """The wheel venv for the current sources: made with the dependencies once (about a
    minute), then only staso's wheel is rebuilt and reinstalled when a source changes."""
    deps = _digest([ROOT / "pyproject.toml"])
    src = _digest(_sources())
    marks = (TARGET / ".deps", TARGET / ".src")
    pip = [str(TARGET / "bin" / "python"), "-m", "pip", "install", "-q"]
    quiet = {"check": True, "timeout": 900, "stdout": subprocess.DEVNULL}
    if not marks[0].is_file() or marks[0].read_text() != deps:
        shutil.rmtree(TARGET, ignore_errors=True)
        CACHE.mkdir(exist_ok=True)
        subprocess.run([sys.executable, "-m", "venv", str(TARGET)], check=True, timeout=300)
        subprocess.run([*pip, "setuptools>=68", "wheel"], **quiet)
        subprocess.run([*pip, "--no-build-isolation", str(ROOT)], **quiet)
    elif not marks[1].is_file() or marks[1].read_text() != src:
        subprocess.run(
            [*pip, "--no-deps", "--force-reinstall", "--no-build-isolation", str(ROOT)], **quiet
        )
    else:
        return TARGET
    shutil.rmtree(ROOT / "build", ignore_errors=True)  # setuptools' scratch copy
    marks[0].write_text(deps)
    marks[1].write_text(src)
    return TARGET


def python() -> str:
    """`python` of the wheel venv."""
    return str(venv() / "bin" / "python")


def script(name: str) -> str:
    """A console script of the wheel venv (`staso`)."""
    return str(venv() / "bin" / name)


if __name__ == "__main__":
    print(python())
