"""`staso update` with real pip against a local wheel folder (no network): it never swaps
this package for another project named staso, and a refused update leaves the working
install and the hook entries exactly as they were."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from staso_otel import __version__

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def our_wheel(tmp_path_factory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(ROOT)],
        check=True,
        timeout=600,
        capture_output=True,
    )
    [wheel] = dist.glob("staso-*.whl")
    return wheel


@pytest.fixture(scope="module")
def user_venv(tmp_path_factory, our_wheel) -> Path:
    """A user's install: a fresh venv with the wheel (and its dependencies) in it. Shared
    by the tests of this module (a venv costs minutes here); the one that upgrades it runs
    last."""
    venv = tmp_path_factory.mktemp("user") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", str(our_wheel)],
        check=True,
        timeout=900,
        capture_output=True,
    )
    return venv


def fake_wheel(folder: Path, version: str) -> Path:
    """The other project called staso (0.5.x on PyPI): no staso_otel, no staso_cli."""
    folder.mkdir(exist_ok=True)
    info = f"staso-{version}.dist-info"
    path = folder / f"staso-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("staso/__init__.py", "")
        z.writestr(
            f"{info}/METADATA",
            f"Metadata-Version: 2.1\nName: staso\nVersion: {version}\nSummary: another staso\n",
        )
        z.writestr(
            f"{info}/WHEEL",
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        z.writestr(f"{info}/entry_points.txt", "[console_scripts]\nstaso = staso:main\n")
        z.writestr(f"{info}/RECORD", "")
    return path


def staso(venv: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PIP_CONFIG_FILE": os.devnull, "STASO_NO_WORKER": "1"}
    return subprocess.run(
        [str(venv / "bin" / "staso"), *args],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        cwd=venv.parent,
    )


def installed(venv: Path) -> tuple[str, bool]:
    """(the installed staso's version, whether staso_otel still imports)."""
    probe = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-I",  # isolated: not the checkout in the current folder, only what is installed
            "-c",
            "import importlib.metadata as m, importlib.util as u;"
            "print(m.version('staso'), u.find_spec('staso_otel') is not None)",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=venv.parent,
    )
    version, importable = probe.stdout.split()
    return version, importable == "True"


def hook_files(codex_home: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(codex_home.iterdir()) if p.is_file()}


def test_the_version_sorts_above_the_package_it_succeeds():
    def release(v: str) -> tuple[int, ...]:
        return tuple(int(x) for x in re.match(r"\d+(\.\d+)*", v)[0].split("."))

    assert release(__version__) > (0, 5, 25)


def test_update_refuses_a_staso_without_staso_otel_and_keeps_the_install(
    user_venv, tmp_path, isolated_homes
):
    assert staso(user_venv, "setup", "--target", "codex", "--local").returncode == 0
    before = hook_files(isolated_homes["codex"])
    index = tmp_path / "index"
    fake_wheel(index, "9.0.0")
    proc = staso(user_venv, "update", "--pip-args", f"--no-index --find-links {index}")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    error = proc.stderr.strip().splitlines()[-1]
    assert "9.0.0" in error and "staso_otel" in error and "kept" in error, error
    assert installed(user_venv) == (__version__, True)
    assert hook_files(isolated_homes["codex"]) == before
    status = staso(user_venv, "status", "--target", "codex", "--json")
    assert "Traceback" not in status.stderr and json.loads(status.stdout)


def test_update_keeps_this_package_when_only_the_old_one_is_offered(
    user_venv, tmp_path, isolated_homes
):
    index = tmp_path / "index"
    fake_wheel(index, "0.5.25")
    proc = staso(user_venv, "update", "--pip-args", f"--no-index --find-links {index}")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "up to date" in proc.stdout
    assert installed(user_venv) == (__version__, True)


def test_update_installs_a_newer_staso_and_syncs_the_hooks(user_venv, tmp_path, isolated_homes):
    assert staso(user_venv, "setup", "--target", "codex", "--local").returncode == 0
    source = tmp_path / "src"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".venv", ".cache", ".git", "*.egg-info", "build", "dist", ".hypothesis"
        ),
    )
    init = source / "staso_otel" / "__init__.py"
    init.write_text(init.read_text().replace(f'"{__version__}"', '"99.0.0"'))
    index = tmp_path / "index"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(index), str(source)],
        check=True,
        timeout=600,
        capture_output=True,
    )
    proc = staso(user_venv, "update", "--pip-args", f"--no-index --find-links {index}")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert installed(user_venv) == ("99.0.0", True), proc.stdout + proc.stderr
    record = json.loads((isolated_homes["staso"] / "install" / "codex.json").read_text())
    assert record["staso_version"] == "99.0.0"  # the new code re-wrote the entries
