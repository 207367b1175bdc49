"""Claude Code install lifecycle on temporary homes: what only Claude Code's hooks do.

What every settings.json agent shares is in `test_install_settings_agents.py`.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import pytest
from settings_agents import CLAUDE_CODE, ENDPOINT, claude_settings_text, run

from staso_otel.targets.claude_code import install

ours = CLAUDE_CODE.ours


@pytest.fixture
def settings_file(isolated_homes) -> Path:
    return CLAUDE_CODE.write_user_settings(isolated_homes)


def test_tool_events_match_every_tool_and_handlers_wait_seconds(settings_file: Path):
    assert run("setup", "--target", "claude-code", *ENDPOINT).exit_code == 0
    mine = ours(json.loads(settings_file.read_text()))
    assert mine["PreToolUse"][0]["matcher"] == "*"
    assert "matcher" not in mine["Stop"][0]
    handler = mine["Stop"][0]["hooks"][0]
    assert handler["type"] == "command" and handler["timeout"] == install.HOOK_TIMEOUT_S


def test_no_secret_goes_into_the_settings_file(settings_file: Path):
    result = run("setup", "--target", "claude-code", "--api-key", "sk-staso-secret-123")
    assert result.exit_code == 0, result.output
    assert "sk-staso-secret-123" not in settings_file.read_text()
    command = ours(json.loads(settings_file.read_text()))["Stop"][0]["hooks"][0]["command"]
    assert command == install.INSTALLER.hook_command()


def test_settings_without_hooks_key_get_it_back_removed(isolated_homes):
    path = isolated_homes["claude"] / "settings.json"
    text = claude_settings_text({"model": "sonnet", "includeCoAuthoredBy": False})
    path.write_text(text)
    assert run("setup", "--target", "claude-code", *ENDPOINT).exit_code == 0
    assert run("uninstall", "--target", "claude-code").exit_code == 0
    assert path.read_text() == text


def test_codex_scope_names_are_checked_per_target():
    result = run("setup", "--target", "codex", "--scope", "local", *ENDPOINT)
    assert result.exit_code == 2
    assert "not a Codex scope" in result.output


def test_uninstalling_one_agent_keeps_the_others_data(settings_file: Path, isolated_homes):
    assert run("setup", "--target", "claude-code", *ENDPOINT).exit_code == 0
    assert run("setup", "--target", "codex", *ENDPOINT).exit_code == 0
    result = run("uninstall", "--target", "claude-code")
    assert result.exit_code == 0, result.output
    assert "Codex is still traced" in result.output
    assert (isolated_homes["codex"] / "hooks.json").exists()
    assert run("uninstall", "--target", "codex").exit_code == 0


def test_auto_sync_rewrites_entries_after_an_interpreter_change(
    settings_file: Path, monkeypatch: pytest.MonkeyPatch
):
    assert run("setup", "--target", "claude-code", *ENDPOINT, "--auto-sync").exit_code == 0
    assert install.INSTALLER.sync_if_needed() is False  # nothing changed
    monkeypatch.setattr(sys, "executable", "/opt/new python/bin/python3")
    assert install.INSTALLER.sync_if_needed() is True
    command = ours(json.loads(settings_file.read_text()))["Stop"][0]["hooks"][0]["command"]
    assert command.startswith("'/opt/new python/bin/python3' -I -S /")
    assert command.endswith("/staso_otel/hook/__main__.py claude-code")
    assert sum(len(v) for v in ours(json.loads(settings_file.read_text())).values()) == len(
        install.EVENTS
    )


def test_sync_and_auto_sync_replace_the_entries_an_earlier_release_wrote(settings_file: Path):
    """Earlier releases wrote `<python> -m staso_otel.hook claude-code` and no hook_script
    in the install record: auto-sync and sync rewrite them; uninstall still finds them."""
    before = settings_file.read_bytes()
    assert run("setup", "--target", "claude-code", *ENDPOINT, "--auto-sync").exit_code == 0
    old = f"{shlex.quote(sys.executable)} -m staso_otel.hook claude-code"
    new = json.dumps(install.INSTALLER.hook_command())[1:-1]
    settings_file.write_text(settings_file.read_text().replace(new, old))
    record = json.loads(install.INSTALLER.record_path().read_text())
    del record["hook_script"]
    install.INSTALLER.record_path().write_text(json.dumps(record))
    assert install.INSTALLER.sync_if_needed() is True
    assert "-m staso_otel.hook" not in settings_file.read_text()
    settings_file.write_text(settings_file.read_text().replace(new, old))
    assert run("sync").exit_code == 0
    found = ours(json.loads(settings_file.read_text()))
    commands = [g["hooks"][0]["command"] for groups in found.values() for g in groups]
    assert commands == [install.INSTALLER.hook_command()] * len(install.EVENTS)
    settings_file.write_text(settings_file.read_text().replace(new, old))
    assert run("uninstall", "--target", "claude-code").exit_code == 0
    assert settings_file.read_bytes() == before
