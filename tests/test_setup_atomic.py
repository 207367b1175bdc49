"""A setup that cannot write one of its files writes none: every file it would touch is
checked first, and a write that fails anyway is rolled back. Files are made unwritable
with `chattr +i` (immutable), which binds root too, as these tests run."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner
from staso_cli.main import cli

from staso_otel import paths

ENDPOINT = ["--endpoint", "http://127.0.0.1:4318"]
USER_HOOKS = '{"hooks": {"Stop": [{"hooks": [{"type": "command", "command": "say ✅"}]}]}}\n'
USER_CONFIG = '# mine\nmodel = "o3"\n'


@contextmanager
def immutable(path: Path) -> Iterator[None]:
    subprocess.run(["chattr", "+i", str(path)], check=True)
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def snapshot(*roots: Path) -> dict[str, bytes]:
    return {
        str(p): p.read_bytes() for root in roots for p in sorted(root.rglob("*")) if p.is_file()
    }


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def assert_one_line_naming(result, path: Path) -> None:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert str(path) in result.output and "not writable" in result.output


@pytest.fixture
def codex_files(isolated_homes):
    home = isolated_homes["codex"]
    (home / "hooks.json").write_text(USER_HOOKS, encoding="utf-8")
    (home / "config.toml").write_text(USER_CONFIG)
    return home


@pytest.mark.parametrize("locked", ["config.toml", "hooks.json"])
def test_codex_setup_with_an_unwritable_file_writes_nothing(isolated_homes, codex_files, locked):
    before = snapshot(*isolated_homes.values())
    with immutable(codex_files / locked):
        result = run("setup", "--target", "codex", *ENDPOINT)
    assert_one_line_naming(result, codex_files / locked)
    assert snapshot(*isolated_homes.values()) == before
    # nothing half done: status and sync agree that nothing is set up
    assert "not set up" in run("sync").output
    assert not paths.settings_file().exists()


def test_project_scope_with_an_unwritable_codex_home_leaves_the_project_alone(
    isolated_homes, tmp_path, monkeypatch
):
    project = tmp_path / "repo"
    project.mkdir()
    monkeypatch.chdir(project)
    home = isolated_homes["codex"]
    with immutable(home):
        result = run("setup", "--target", "codex", "--scope", "project", *ENDPOINT)
    assert_one_line_naming(result, home / "config.toml")
    assert not (project / ".codex").exists()


def test_claude_setup_with_an_unwritable_settings_file_writes_nothing(isolated_homes):
    settings = isolated_homes["claude"] / "settings.json"
    settings.write_text('{"model": "opus"}\n')
    before = snapshot(*isolated_homes.values())
    with immutable(settings):
        result = run("setup", "--target", "claude-code", *ENDPOINT)
    assert_one_line_naming(result, settings)
    assert snapshot(*isolated_homes.values()) == before


def test_an_unwritable_staso_home_stops_setup_before_the_agents_files(isolated_homes, codex_files):
    before = snapshot(*isolated_homes.values())
    with immutable(isolated_homes["staso"]):
        result = run("setup", "--target", "codex", *ENDPOINT)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "not writable" in result.output and str(isolated_homes["staso"]) in result.output
    assert snapshot(*isolated_homes.values()) == before


def test_a_write_that_fails_after_the_check_is_rolled_back(
    isolated_homes, codex_files, monkeypatch
):
    """The profile save fails last (disk full, say): the agent's files are put back."""
    before = snapshot(*isolated_homes.values())

    def full(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("staso_otel.settings.save_profile", full)
    result = run("setup", "--target", "codex", *ENDPOINT)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "No space left on device" in result.output
    assert snapshot(*isolated_homes.values()) == before
    assert json.loads((codex_files / "hooks.json").read_text())["hooks"].keys() == {"Stop"}
