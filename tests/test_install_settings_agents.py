"""Install lifecycle of every agent whose hooks live in a settings.json, on temporary homes.

One body per behaviour, run over each agent's facts in `settings_agents.py`; what only one
agent does stays in its own file (`test_install_claude_code.py`, `test_install_gemini.py`).
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from settings_agents import AGENTS, ENDPOINT, SettingsAgent, run

# Two ways a settings.json is not JSON that staso could rewrite: cut short, or with the
# comments Gemini CLI strips (staso could not keep them, so it does not write at all).
BROKEN = {
    "cut-short": '{"model": "opus",',
    "comments": '{\n  // my theme\n  "ui": {"theme": "Dracula"}\n}\n',
}


@pytest.fixture(params=AGENTS, ids=lambda agent: agent.target)
def agent(request: pytest.FixtureRequest) -> SettingsAgent:
    return request.param


@pytest.fixture
def settings_file(agent: SettingsAgent, isolated_homes) -> Path:
    return agent.write_user_settings(isolated_homes)


def test_setup_adds_every_event_keeps_the_users_settings_and_uninstall_restores_bytes(
    agent: SettingsAgent, settings_file: Path
):
    before = settings_file.read_bytes()
    result = run("setup", "--target", agent.target, *ENDPOINT)
    assert result.exit_code == 0, result.output
    assert str(settings_file) in result.output
    data = json.loads(settings_file.read_text())
    mine = agent.ours(data)
    assert sorted(mine) == sorted(agent.install.EVENTS)
    # the user's own entries come first and are untouched, and so is the rest of the file
    user = json.loads(agent.user_text)
    for event, groups in user["hooks"].items():
        assert data["hooks"][event][: len(groups)] == groups, event
    for key in user.keys() - {"hooks"}:
        assert data[key] == user[key], key
    for written in agent.kept_as_written:
        assert written in settings_file.read_text()
    assert stat.S_IMODE(settings_file.stat().st_mode) == 0o640
    # idempotent, and sync rewrites the same entries
    assert run("setup", "--target", agent.target, *ENDPOINT).exit_code == 0
    assert agent.ours(json.loads(settings_file.read_text())) == mine
    assert run("sync").exit_code == 0
    assert agent.ours(json.loads(settings_file.read_text())) == mine

    result = run("uninstall", "--target", agent.target)
    assert result.exit_code == 0, result.output
    assert f"no longer traces {agent.name}" in result.output
    assert settings_file.read_bytes() == before
    assert not agent.install.INSTALLER.record_path().exists()


def test_a_settings_file_setup_created_is_removed_again(agent: SettingsAgent, isolated_homes):
    path = agent.global_settings(isolated_homes)
    path.unlink(missing_ok=True)
    assert run("setup", "--target", agent.target, *ENDPOINT).exit_code == 0
    assert path.exists() and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert run("uninstall", "--target", agent.target).exit_code == 0
    assert not path.exists()


@pytest.mark.parametrize(
    ("agent", "scope", "relative"),
    [
        pytest.param(agent, scope, relative, id=f"{agent.target}-{scope}")
        for agent in AGENTS
        for scope, relative in agent.scopes
    ],
)
def test_project_scopes_write_the_projects_file(
    agent: SettingsAgent,
    scope: str,
    relative: str,
    isolated_homes,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
):
    project = tmp_path / "repo"
    project.mkdir()
    monkeypatch.chdir(project)
    result = run("setup", "--target", agent.target, "--scope", scope, *ENDPOINT)
    assert result.exit_code == 0, result.output
    if agent.project_note is not None:
        assert agent.project_note in result.output
    path = project / relative
    assert sorted(agent.ours(json.loads(path.read_text()))) == sorted(agent.install.EVENTS)
    assert not agent.global_settings(isolated_homes).exists()
    monkeypatch.chdir(tmp_path)  # sync and uninstall find the file from the record
    assert run("sync").exit_code == 0
    assert run("uninstall", "--target", agent.target).exit_code == 0
    assert not path.exists()


@pytest.mark.parametrize("text", BROKEN.values(), ids=BROKEN.keys())
def test_a_settings_file_that_is_not_json_is_a_one_line_error_and_left_alone(
    agent: SettingsAgent, isolated_homes, text: str
):
    path = agent.global_settings(isolated_homes)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    result = run("setup", "--target", agent.target, *ENDPOINT)
    assert result.exit_code == 1
    assert "is not valid JSON" in result.output and len(result.output.strip().splitlines()) == 1
    assert path.read_text() == text


def test_status_reports_missing_hooks_and_hooks_switched_off(
    agent: SettingsAgent,
    settings_file: Path,
    receiver,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
):
    binary = tmp_path / "bin" / agent.binary
    binary.parent.mkdir()
    binary.write_text(f"#!/bin/sh\necho '{agent.version_output}'\n")
    binary.chmod(0o755)
    monkeypatch.setenv("PATH", f"{binary.parent}{os.pathsep}{os.environ['PATH']}")
    result = run("status", "--target", agent.target)
    assert result.exit_code == 1 and f"staso setup --target {agent.target}" in result.output
    assert run("setup", "--target", agent.target, "--endpoint", receiver.base_url).exit_code == 0
    result = run("status", "--target", agent.target)
    assert result.exit_code == 0, result.output
    assert agent.version in result.output and f"ok: {agent.name} will run" in result.output
    data = json.loads(settings_file.read_text())
    assert agent.switches_off  # an agent without a switch would make this test a no-op
    for switch, named in agent.switches_off:
        settings_file.write_text(json.dumps({**data, **switch}, indent=2))
        result = run("status", "--target", agent.target)
        assert result.exit_code == 1 and named in result.output, (switch, result.output)
