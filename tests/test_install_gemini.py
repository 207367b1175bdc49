"""Gemini CLI install lifecycle on temporary homes: only what is ours is ever touched."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from staso_cli.main import cli

from staso_otel.targets import hookfile
from staso_otel.targets.gemini import install

# A user's settings.json with their own hooks, auth, MCP servers and odd but valid
# formatting (4-space indent, an escaped slash, a unicode escape) that must survive.
USER_TEXT = """{
    "security": {"auth": {"selectedType": "gemini-api-key"}},
    "general": {"vimMode": true},
    "mcpServers": {"docs": {"httpUrl": "https:\\/\\/example.invalid\\/mcp"}},
    "ui": {"theme": "caf\\u00e9"},
    "hooks": {
        "BeforeTool": [
            {"matcher": "write_file|replace",
             "hooks": [{"name": "guard", "type": "command",
                        "command": "/usr/local/bin/guard.sh", "timeout": 5000}]}
        ]
    }
}
"""
ENDPOINT = ["--endpoint", "http://127.0.0.1:4318"]


def run(*args: str) -> object:
    return CliRunner().invoke(cli, list(args))


def ours(data: dict) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for event, groups in data.get("hooks", {}).items():
        for group in groups:
            for handler in group["hooks"]:
                if hookfile.is_ours(handler, install.TARGET):
                    found.setdefault(event, []).append({**group, "hooks": [handler]})
    return found


@pytest.fixture
def settings_file(isolated_homes) -> Path:
    path = isolated_homes["home"] / ".gemini" / "settings.json"
    path.parent.mkdir()
    path.write_text(USER_TEXT)
    os.chmod(path, 0o640)
    return path


def test_setup_adds_every_event_keeps_the_users_settings_and_uninstall_restores_bytes(
    settings_file: Path,
):
    before = settings_file.read_bytes()
    result = run("setup", "--target", "gemini", *ENDPOINT)
    assert result.exit_code == 0, result.output
    assert str(settings_file) in result.output
    data = json.loads(settings_file.read_text())
    mine = ours(data)
    assert sorted(mine) == sorted(install.EVENTS)
    for groups in mine.values():
        (handler,) = groups[0]["hooks"]
        assert handler == {
            "name": "staso",
            "type": "command",
            "command": install.INSTALLER.hook_command(),
            "timeout": 30_000,  # milliseconds, as Gemini CLI reads it
        }
        assert "matcher" not in groups[0]
    assert "AfterModel" not in mine and "PreCompress" not in mine  # per chunk / per request
    user = json.loads(USER_TEXT)
    assert data["hooks"]["BeforeTool"][0] == user["hooks"]["BeforeTool"][0]
    for key in ("security", "general", "mcpServers", "ui"):
        assert data[key] == user[key]
    assert "\\/\\/example.invalid" in settings_file.read_text()  # escapes kept as written
    assert stat.S_IMODE(settings_file.stat().st_mode) == 0o640
    # idempotent, and sync rewrites the same entries
    assert run("setup", "--target", "gemini", *ENDPOINT).exit_code == 0
    assert ours(json.loads(settings_file.read_text())) == mine
    assert run("sync").exit_code == 0
    assert ours(json.loads(settings_file.read_text())) == mine

    result = run("uninstall", "--target", "gemini")
    assert result.exit_code == 0, result.output
    assert "Gemini CLI" in result.output
    assert settings_file.read_bytes() == before
    assert not install.INSTALLER.record_path().exists()


def test_a_settings_file_setup_created_is_removed_again(isolated_homes):
    path = isolated_homes["home"] / ".gemini" / "settings.json"
    assert run("setup", "--target", "gemini", *ENDPOINT).exit_code == 0
    assert path.exists() and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert run("uninstall", "--target", "gemini").exit_code == 0
    assert not path.exists()


def test_gemini_cli_home_moves_the_global_settings(isolated_homes, monkeypatch, tmp_path):
    monkeypatch.setenv("GEMINI_CLI_HOME", str(tmp_path / "elsewhere"))
    assert run("setup", "--target", "gemini", *ENDPOINT).exit_code == 0
    path = tmp_path / "elsewhere" / ".gemini" / "settings.json"
    assert sorted(ours(json.loads(path.read_text()))) == sorted(install.EVENTS)
    assert not (isolated_homes["home"] / ".gemini").exists()


def test_project_scope_writes_the_projects_file(isolated_homes, tmp_path, monkeypatch):
    project = tmp_path / "repo"
    project.mkdir()
    monkeypatch.chdir(project)
    result = run("setup", "--target", "gemini", "--scope", "project", *ENDPOINT)
    assert result.exit_code == 0, result.output
    assert "trusted folder" in result.output
    path = project / ".gemini" / "settings.json"
    assert sorted(ours(json.loads(path.read_text()))) == sorted(install.EVENTS)
    monkeypatch.chdir(tmp_path)  # sync and uninstall find the file from the record
    assert run("sync").exit_code == 0
    assert run("uninstall", "--target", "gemini").exit_code == 0
    assert not path.exists()


def test_scope_local_is_not_a_gemini_scope(isolated_homes):
    result = run("setup", "--target", "gemini", "--scope", "local", *ENDPOINT)
    assert result.exit_code == 2
    assert "not a Gemini CLI scope" in result.output


def test_settings_with_comments_are_a_one_line_error_and_left_alone(isolated_homes):
    """Gemini CLI strips comments from settings.json; staso does not rewrite such a file
    (it could not keep them), it says so and changes nothing."""
    path = isolated_homes["home"] / ".gemini" / "settings.json"
    path.parent.mkdir()
    text = '{\n  // my theme\n  "ui": {"theme": "Dracula"}\n}\n'
    path.write_text(text)
    result = run("setup", "--target", "gemini", *ENDPOINT)
    assert result.exit_code == 1
    assert "is not valid JSON" in result.output and len(result.output.strip().splitlines()) == 1
    assert path.read_text() == text


def test_status_reports_missing_hooks_and_hooks_switched_off(
    settings_file: Path, receiver, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    gemini = tmp_path / "bin" / "gemini"
    gemini.parent.mkdir()
    gemini.write_text("#!/bin/sh\necho 0.61.0\n")
    gemini.chmod(0o755)
    monkeypatch.setenv("PATH", f"{gemini.parent}{os.pathsep}{os.environ['PATH']}")
    result = run("status", "--target", "gemini")
    assert result.exit_code == 1 and "staso setup --target gemini" in result.output
    assert run("setup", "--target", "gemini", "--endpoint", receiver.base_url).exit_code == 0
    result = run("status", "--target", "gemini")
    assert result.exit_code == 0, result.output
    assert "0.61.0" in result.output and "ok: Gemini CLI will run" in result.output
    data = json.loads(settings_file.read_text())
    off = {**data, "hooksConfig": {"enabled": False}}
    settings_file.write_text(json.dumps(off, indent=2))
    result = run("status", "--target", "gemini")
    assert result.exit_code == 1 and "hooksConfig.enabled" in result.output
    named = {**data, "hooksConfig": {"disabled": ["staso"]}}
    settings_file.write_text(json.dumps(named, indent=2))
    result = run("status", "--target", "gemini")
    assert result.exit_code == 1 and "hooksConfig.disabled" in result.output


def test_import_says_it_cannot_read_gemini_sessions_yet(isolated_homes):
    """`--target` offers every agent; `staso import` rebuilds only Codex and Claude Code
    transcripts: one clear line and a usage error, nothing written."""
    result = run("import", "--target", "gemini", "--dry-run")
    assert result.exit_code == 2
    assert "not gemini" in result.output
    assert not any(isolated_homes["staso"].iterdir())
