"""What a `pip install staso` user gets: the demo's recording, no generic `cli` package."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def build(tmp_path_factory) -> tuple[Path, str]:
    """The wheel and pip's verbose build log (setuptools' warnings show only there)."""
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-v", "-w", str(out), str(ROOT)],
        check=True,
        timeout=300,
        capture_output=True,
        text=True,
    )
    [wheel] = out.glob("staso-*.whl")
    return wheel, proc.stdout + proc.stderr


def test_the_build_prints_no_warning(build):
    _, log = build
    warnings = [line.strip() for line in log.splitlines() if "Warning" in line]
    assert warnings == []


def test_wheel_ships_the_demo_and_installs_the_cli_under_a_unique_name(build):
    wheel, _ = build
    names = zipfile.ZipFile(wheel).namelist()
    assert "staso_otel/local/demo/tour_resume/hooks.jsonl" in names
    assert any(n.startswith("staso_otel/local/demo/tour_resume/sessions/") for n in names)
    for run in ("tour_resume", "agent"):
        assert f"staso_otel/local/demo/claude_code/{run}/hooks.jsonl" in names
    assert any(n.endswith(".meta.json") for n in names)  # a sub-agent's link to its call
    assert "staso_cli/entry.py" in names and "staso_otel/py.typed" in names
    assert not any(n.startswith("cli/") for n in names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "staso = staso_cli.entry:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
