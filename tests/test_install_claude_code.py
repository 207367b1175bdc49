"""Claude Code install lifecycle on temporary homes: only what is ours is ever touched."""

from __future__ import annotations

import json
import os
import shlex
import stat
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from staso_cli.main import cli

from staso_otel.targets import hookfile
from staso_otel.targets.claude_code import install

# A user's settings as Claude Code writes them (JSON.stringify, 2 spaces), with their own
# hooks, permissions and an env block.
USER_SETTINGS = {
    "model": "opus",
    "permissions": {"allow": ["Bash(npm test:*)"], "deny": ["Read(./.env)"]},
    "env": {"FOO": "bar"},
    "hooks": {
        "PreToolUse": [
            {
                "matcher": "Bash",
                "hooks": [{"type": "command", "command": "/usr/local/bin/guard.sh", "timeout": 5}],
            }
        ],
        "Stop": [{"hooks": [{"type": "command", "command": "notify-send done"}]}],
    },
    "statusLine": {"type": "command", "command": "echo ✓ ready"},
}
ENDPOINT = ["--endpoint", "http://127.0.0.1:4318"]


def run(*args: str, **kwargs) -> object:
    return CliRunner().invoke(cli, list(args), **kwargs)


def user_text(settings: dict) -> str:
    return json.dumps(settings, indent=2, ensure_ascii=False) + "\n"


@pytest.fixture
def settings_file(isolated_homes) -> Path:
    path = isolated_homes["claude"] / "settings.json"
    path.write_text(user_text(USER_SETTINGS))
    os.chmod(path, 0o640)
    return path


def ours(data: dict) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for event, groups in data.get("hooks", {}).items():
        for group in groups:
            for handler in group["hooks"]:
                if hookfile.is_ours(handler, install.TARGET):
                    found.setdefault(event, []).append({**group, "hooks": [handler]})
    return found


def test_setup_adds_every_event_keeps_the_users_settings_and_uninstall_restores_bytes(
    settings_file: Path,
):
    before = settings_file.read_bytes()
    result = run("setup", "--target", "claude-code", *ENDPOINT)
    assert result.exit_code == 0, result.output
    assert str(settings_file) in result.output
    data = json.loads(settings_file.read_text())
    mine = ours(data)
    assert sorted(mine) == sorted(install.EVENTS)
    assert mine["PreToolUse"][0]["matcher"] == "*"
    assert "matcher" not in mine["Stop"][0]
    handler = mine["Stop"][0]["hooks"][0]
    assert handler["type"] == "command" and handler["timeout"] == install.HOOK_TIMEOUT_S
    # the user's own entries come first and are untouched
    assert data["hooks"]["PreToolUse"][0] == USER_SETTINGS["hooks"]["PreToolUse"][0]
    assert data["hooks"]["Stop"][0] == USER_SETTINGS["hooks"]["Stop"][0]
    for key in ("model", "permissions", "env", "statusLine"):
        assert data[key] == USER_SETTINGS[key]
    assert stat.S_IMODE(settings_file.stat().st_mode) == 0o640
    # idempotent
    assert run("setup", "--target", "claude-code", *ENDPOINT).exit_code == 0
    assert ours(json.loads(settings_file.read_text())) == mine
    assert run("sync").exit_code == 0
    assert ours(json.loads(settings_file.read_text())) == mine

    result = run("uninstall", "--target", "claude-code")
    assert result.exit_code == 0, result.output
    assert "no longer traces Claude Code" in result.output
    assert settings_file.read_bytes() == before
    assert not install.INSTALLER.record_path().exists()


def test_no_secret_goes_into_the_settings_file(settings_file: Path):
    result = run("setup", "--target", "claude-code", "--api-key", "sk-staso-secret-123")
    assert result.exit_code == 0, result.output
    assert "sk-staso-secret-123" not in settings_file.read_text()
    command = ours(json.loads(settings_file.read_text()))["Stop"][0]["hooks"][0]["command"]
    assert command == install.INSTALLER.hook_command()


def test_a_settings_file_setup_created_is_removed_again(isolated_homes):
    path = isolated_homes["claude"] / "settings.json"
    path.unlink(missing_ok=True)
    assert run("setup", "--target", "claude-code", *ENDPOINT).exit_code == 0
    assert path.exists() and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert run("uninstall", "--target", "claude-code").exit_code == 0
    assert not path.exists()


def test_settings_without_hooks_key_get_it_back_removed(isolated_homes):
    path = isolated_homes["claude"] / "settings.json"
    text = user_text({"model": "sonnet", "includeCoAuthoredBy": False})
    path.write_text(text)
    assert run("setup", "--target", "claude-code", *ENDPOINT).exit_code == 0
    assert run("uninstall", "--target", "claude-code").exit_code == 0
    assert path.read_text() == text


@pytest.mark.parametrize(
    ("scope", "relative"),
    [("project", ".claude/settings.json"), ("local", ".claude/settings.local.json")],
)
def test_project_and_local_scopes_write_the_projects_files(
    scope: str, relative: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    project = tmp_path / "repo"
    project.mkdir()
    monkeypatch.chdir(project)
    result = run("setup", "--target", "claude-code", "--scope", scope, *ENDPOINT)
    assert result.exit_code == 0, result.output
    path = project / relative
    assert sorted(ours(json.loads(path.read_text()))) == sorted(install.EVENTS)
    assert not (install.config_dir() / "settings.json").exists()
    monkeypatch.chdir(tmp_path)  # sync and uninstall find the file from the record
    assert run("sync").exit_code == 0
    assert run("uninstall", "--target", "claude-code").exit_code == 0
    assert not path.exists()


def test_codex_scope_names_are_checked_per_target():
    result = run("setup", "--target", "codex", "--scope", "local", *ENDPOINT)
    assert result.exit_code == 2
    assert "not a Codex scope" in result.output


def test_broken_settings_file_is_a_one_line_error_and_is_left_alone(isolated_homes):
    path = isolated_homes["claude"] / "settings.json"
    path.write_text('{"model": "opus",')
    result = run("setup", "--target", "claude-code", *ENDPOINT)
    assert result.exit_code == 1
    assert "is not valid JSON" in result.output and len(result.output.strip().splitlines()) == 1
    assert path.read_text() == '{"model": "opus",'


def test_status_reports_missing_hooks_and_disable_all_hooks(
    settings_file: Path, receiver, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    claude = tmp_path / "bin" / "claude"
    claude.parent.mkdir()
    claude.write_text("#!/bin/sh\necho '2.1.330 (Claude Code)'\n")
    claude.chmod(0o755)
    monkeypatch.setenv("PATH", f"{claude.parent}{os.pathsep}{os.environ['PATH']}")
    result = run("status", "--target", "claude-code")
    assert result.exit_code == 1 and "staso setup --target claude-code" in result.output
    assert run("setup", "--target", "claude-code", "--endpoint", receiver.base_url).exit_code == 0
    result = run("status", "--target", "claude-code")
    assert result.exit_code == 0, result.output
    assert "2.1.330" in result.output and "ok: Claude Code will run" in result.output
    data = json.loads(settings_file.read_text())
    settings_file.write_text(json.dumps({**data, "disableAllHooks": True}, indent=2))
    result = run("status", "--target", "claude-code")
    assert result.exit_code == 1 and "disableAllHooks" in result.output


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
