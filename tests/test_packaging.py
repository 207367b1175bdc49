"""What a `pip install staso` user gets: the demo's recording, no generic `cli` package."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_ships_the_demo_and_installs_the_cli_under_a_unique_name(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
        timeout=300,
        capture_output=True,
    )
    [wheel] = tmp_path.glob("staso-*.whl")
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
