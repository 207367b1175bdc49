"""Gemini CLI install lifecycle on temporary homes: what only Gemini CLI's hooks do.

What every settings.json agent shares is in `test_install_settings_agents.py`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from settings_agents import ENDPOINT, GEMINI, run

from staso_otel.targets.gemini import install


@pytest.fixture
def settings_file(isolated_homes) -> Path:
    return GEMINI.write_user_settings(isolated_homes)


def test_every_event_gets_one_named_handler_waiting_milliseconds(settings_file: Path):
    assert run("setup", "--target", "gemini", *ENDPOINT).exit_code == 0
    mine = GEMINI.ours(json.loads(settings_file.read_text()))
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


def test_gemini_cli_home_moves_the_global_settings(isolated_homes, monkeypatch, tmp_path):
    monkeypatch.setenv("GEMINI_CLI_HOME", str(tmp_path / "elsewhere"))
    assert run("setup", "--target", "gemini", *ENDPOINT).exit_code == 0
    path = tmp_path / "elsewhere" / ".gemini" / "settings.json"
    assert sorted(GEMINI.ours(json.loads(path.read_text()))) == sorted(install.EVENTS)
    assert not (isolated_homes["home"] / ".gemini").exists()


def test_scope_local_is_not_a_gemini_scope(isolated_homes):
    result = run("setup", "--target", "gemini", "--scope", "local", *ENDPOINT)
    assert result.exit_code == 2
    assert "not a Gemini CLI scope" in result.output


def test_import_says_it_cannot_read_gemini_sessions_yet(isolated_homes):
    """`--target` offers every agent; `staso import` rebuilds only Codex and Claude Code
    transcripts: one clear line and a usage error, nothing written."""
    result = run("import", "--target", "gemini", "--dry-run")
    assert result.exit_code == 2
    assert "not gemini" in result.output
    assert not any(isolated_homes["staso"].iterdir())
