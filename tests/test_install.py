"""Install lifecycle on temporary CODEX_HOMEs: only what is ours is ever touched."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from e2e_codex import codex_binary
from staso_cli.main import cli

from staso_otel import paths
from staso_otel.targets import hookfile
from staso_otel.targets.codex import install, trust

USER_CONFIG = """# my Codex config: comments, order and spacing must survive
model = "o3"   # aligned comment
approval_policy = "on-request"

[model_providers.corp]
name = "Corp gateway"
base_url = "https://llm.corp.example/v1"

[features]
web_search = true   # mine

[projects."/home/me/repo"]
trust_level = "trusted"
"""
USER_HOOKS = {
    "hooks": {
        "PreToolUse": [
            {
                "matcher": "Bash",
                "hooks": [{"type": "command", "command": "/usr/local/bin/guard.sh", "timeout": 5}],
            }
        ],
        "Stop": [{"hooks": [{"type": "command", "command": "notify-send done"}]}],
    }
}
ENDPOINT = ["--endpoint", "http://127.0.0.1:4318"]


@pytest.fixture
def codex_on_path(monkeypatch):
    monkeypatch.setenv("PATH", f"{codex_binary().parent}{os.pathsep}{os.environ['PATH']}")


@pytest.fixture
def user_files(isolated_homes):
    home = isolated_homes["codex"]
    (home / "config.toml").write_text(USER_CONFIG)
    (home / "hooks.json").write_text(json.dumps(USER_HOOKS, indent=2) + "\n")
    return home


def run(*args: str, **kwargs) -> object:
    return CliRunner().invoke(cli, list(args), **kwargs)


def test_setup_sync_uninstall_leaves_the_users_files_byte_identical(user_files, codex_on_path):
    config_before = (user_files / "config.toml").read_bytes()
    hooks_before = (user_files / "hooks.json").read_bytes()
    result = run("setup", "--target", "codex", *ENDPOINT)
    assert result.exit_code == 0, result.output
    hooks = json.loads((user_files / "hooks.json").read_text())["hooks"]
    assert len(hooks) == 14
    assert hooks["PreToolUse"][0] == USER_HOOKS["hooks"]["PreToolUse"][0]  # theirs first, kept
    config = (user_files / "config.toml").read_text()
    assert config.startswith(USER_CONFIG.split("[features]")[0])
    assert "# mine" in config and config.count("trusted_hash") == 14
    assert run("sync").exit_code == 0
    assert run("uninstall", "--target", "codex").exit_code == 0
    assert (user_files / "config.toml").read_bytes() == config_before
    assert (user_files / "hooks.json").read_bytes() == hooks_before


def test_setup_twice_is_idempotent(user_files, codex_on_path):
    assert run("setup", "--target", "codex", *ENDPOINT).exit_code == 0
    first = [(user_files / f).read_bytes() for f in ("hooks.json", "config.toml")]
    assert run("setup", "--target", "codex", *ENDPOINT).exit_code == 0
    assert [(user_files / f).read_bytes() for f in ("hooks.json", "config.toml")] == first


def test_fresh_codex_home_is_created_and_removed_cleanly(isolated_homes, codex_on_path):
    home = isolated_homes["codex"]
    assert run("setup", "--target", "codex", *ENDPOINT).exit_code == 0
    assert (home / "hooks.json").exists() and (home / "config.toml").exists()
    assert run("uninstall", "--target", "codex").exit_code == 0
    assert not (home / "hooks.json").exists() and not (home / "config.toml").exists()


@pytest.mark.parametrize("broken", ["hooks.json", "config.toml"])
def test_a_broken_file_is_a_one_line_error_and_stays_untouched(isolated_homes, broken):
    home = isolated_homes["codex"]
    (home / broken).write_text("{ this is not valid [[[")
    other = "config.toml" if broken == "hooks.json" else "hooks.json"
    result = run("setup", "--target", "codex", *ENDPOINT)
    assert result.exit_code == 1
    assert result.output.strip().count("\n") == 0 and broken in result.output
    assert (home / broken).read_text() == "{ this is not valid [[["
    assert not (home / other).exists()


def test_key_goes_to_credentials_never_into_codex_files(isolated_homes):
    result = run("setup", "--target", "codex", "--api-key", "sk-staso-secret-123")
    assert result.exit_code == 0, result.output
    home = isolated_homes["codex"]
    for name in ("hooks.json", "config.toml"):
        assert "sk-staso-secret" not in (home / name).read_text()
    assert "sk-staso-secret" not in paths.settings_file().read_text()
    assert paths.credentials_file().stat().st_mode & 0o777 == 0o600
    assert "sk-staso-secret-123" in paths.credentials_file().read_text()


def test_missing_key_for_the_staso_endpoint_is_one_line(isolated_homes):
    result = run("setup", "--target", "codex")
    assert result.exit_code == 1
    assert "no API key for the Staso endpoint" in result.output
    assert not (isolated_homes["codex"] / "hooks.json").exists()


def test_api_key_falls_back_to_the_environment(isolated_homes):
    result = run("setup", "--target", "codex", env={"STASO_API_KEY": "env-key-456"})
    assert result.exit_code == 0, result.output
    assert "env-key-456" in paths.credentials_file().read_text()


def test_wizard_asks_shows_a_summary_and_writes(isolated_homes, monkeypatch):
    monkeypatch.setattr("staso_cli.commands.setup.interactive", lambda: True)
    answers = "codex\nhttp://127.0.0.1:4318\nacme\nprod\nbot-7\nglobal\ny\n"
    result = run("setup", input=answers)
    assert result.exit_code == 0, result.output
    assert "Will write: global Codex hooks -> http://127.0.0.1:4318" in result.output
    profile = json.loads(paths.settings_file().read_text())["profiles"]["default"]
    assert profile["workspace"] == "acme" and profile["agent_id"] == "bot-7"


def test_setup_without_target_and_without_a_terminal_is_a_usage_error(isolated_homes):
    result = run("setup", "--endpoint", "http://127.0.0.1:4318")
    assert result.exit_code == 2


def test_project_scope_writes_the_projects_file_and_says_it_needs_trust(
    isolated_homes, tmp_path, monkeypatch
):
    project = tmp_path / "repo"
    project.mkdir()
    monkeypatch.chdir(project)
    result = run("setup", "--target", "codex", "--scope", "project", *ENDPOINT)
    assert result.exit_code == 0, result.output
    assert (project / ".codex" / "hooks.json").exists()
    assert "only for a trusted project" in result.output
    config = (isolated_homes["codex"] / "config.toml").read_text()
    assert f"{project / '.codex' / 'hooks.json'}:stop:0:0" in config


def test_status_exits_1_until_installed_and_names_the_next_step(
    isolated_homes, codex_on_path, receiver
):
    result = run("status", "--target", "codex")
    assert result.exit_code == 1 and "staso setup --target codex" in result.output
    assert run("setup", "--target", "codex", "--endpoint", receiver.base_url).exit_code == 0
    result = run("status", "--target", "codex")
    assert result.exit_code == 0, result.output
    assert "all trusted" in result.output and "0.169.0" in result.output
    # the user edits our entry: Codex would skip it as modified
    path = isolated_homes["codex"] / "hooks.json"
    path.write_text(path.read_text().replace('"timeout": 30', '"timeout": 31', 1))
    result = run("status", "--target", "codex")
    assert result.exit_code == 1 and "not trusted" in result.output
    assert run("sync").exit_code == 0
    assert run("status", "--target", "codex").exit_code == 0


def test_flag_set_by_setup_is_restored_but_a_users_own_flag_is_left(isolated_homes):
    home = isolated_homes["codex"]
    (home / "config.toml").write_text("[features]\nhooks = false\n")
    assert run("setup", "--target", "codex", *ENDPOINT).exit_code == 0
    assert "hooks = true" in (home / "config.toml").read_text()
    assert run("uninstall", "--target", "codex").exit_code == 0
    assert (home / "config.toml").read_text() == "[features]\nhooks = false\n"
    (home / "config.toml").write_text("[features]\nhooks = true\n")
    assert run("setup", "--target", "codex", *ENDPOINT).exit_code == 0
    assert run("uninstall", "--target", "codex").exit_code == 0
    assert (home / "config.toml").read_text() == "[features]\nhooks = true\n"


def test_old_codex_gets_five_events_and_the_old_flag_name():
    assert install.events_for((0, 125, 0)) == install.LEGACY_EVENTS
    assert install.flag_name((0, 125, 0)) == "codex_hooks"
    assert install.flag_name((0, 169, 0)) == "hooks" and len(install.events_for(None)) == 14


def _hooks_list(codex: Path, codex_home: Path, cwd: Path) -> list[dict]:
    """Ask the real Codex (`codex app-server`, JSON-RPC on stdio) what it thinks of our hooks."""
    messages = [
        {
            "id": 0,
            "method": "initialize",
            "params": {"clientInfo": {"name": "staso-tests", "version": "1"}},
        },
        {"method": "initialized"},
        {"id": 1, "method": "hooks/list", "params": {"cwds": [str(cwd)]}},
    ]
    env = {**os.environ, "CODEX_HOME": str(codex_home)}
    proc = subprocess.Popen(
        [str(codex), "app-server"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        text=True,
    )
    try:
        for message in messages:
            proc.stdin.write(json.dumps(message) + "\n")
            proc.stdin.flush()
        for _ in range(200):
            line = proc.stdout.readline()
            if not line:
                break
            reply = json.loads(line)
            if reply.get("id") == 1:
                assert "error" not in reply, reply
                return [h for entry in reply["result"]["data"] for h in entry.get("hooks", [])]
    finally:
        proc.kill()
        proc.wait(timeout=30)
    raise AssertionError("codex app-server did not answer hooks/list")


def test_real_codex_reports_our_hooks_trusted_with_our_hash(
    isolated_homes, tmp_path, codex_on_path
):
    home = isolated_homes["codex"]
    (home / "hooks.json").write_text(json.dumps(USER_HOOKS))
    assert run("setup", "--target", "codex", *ENDPOINT).exit_code == 0
    listed = _hooks_list(codex_binary(), home, tmp_path)
    ours = [h for h in listed if hookfile.is_ours({"command": h.get("command")}, install.TARGET)]
    assert len(ours) == 14
    data = json.loads((home / "hooks.json").read_text())
    expected = install.our_entries(data, home / "hooks.json")
    for hook in ours:
        assert hook["trustStatus"] == "trusted", hook
        assert hook["currentHash"] == expected[hook["key"]]
    theirs = [h for h in listed if "guard.sh" in (h.get("command") or "")]
    assert theirs and theirs[0]["trustStatus"] != "trusted"  # we never trust others' hooks
    assert trust.snake("PostToolUse") == "post_tool_use"


def test_auto_sync_rewrites_entries_after_an_upgrade_and_is_a_no_op_otherwise(isolated_homes):
    assert run("setup", "--target", "codex", *ENDPOINT, "--auto-sync").exit_code == 0
    assert install.sync_if_needed() is False  # nothing changed
    record = json.loads(install.record_path().read_text())
    record["staso_version"] = "0.0.1"  # as if setup ran under an older staso
    install.record_path().write_text(json.dumps(record))
    assert install.sync_if_needed() is True
    assert json.loads(install.record_path().read_text())["staso_version"] != "0.0.1"
    assert run("sync", "--disable-auto-sync").exit_code == 0
    record = json.loads(install.record_path().read_text())
    record["staso_version"] = "0.0.1"
    install.record_path().write_text(json.dumps(record))
    assert install.sync_if_needed() is False


def test_sync_and_auto_sync_replace_the_entries_an_earlier_release_wrote(user_files, codex_on_path):
    """Earlier releases wrote `<python> -m staso_otel.hook codex` (a slower start) and no
    hook_script in the install record: auto-sync and sync rewrite those entries and their
    trust; uninstall still finds them."""
    before = [(user_files / f).read_bytes() for f in ("hooks.json", "config.toml")]
    assert run("setup", "--target", "codex", *ENDPOINT, "--auto-sync").exit_code == 0
    path = user_files / "hooks.json"
    old = f"{shlex.quote(sys.executable)} -m staso_otel.hook codex"
    path.write_text(path.read_text().replace(json.dumps(install.hook_command())[1:-1], old))
    record = json.loads(install.record_path().read_text())
    del record["hook_script"]
    install.record_path().write_text(json.dumps(record))
    assert install.sync_if_needed() is True
    assert "-m staso_otel.hook" not in path.read_text()
    path.write_text(path.read_text().replace(json.dumps(install.hook_command())[1:-1], old))
    assert run("sync").exit_code == 0
    data = json.loads(path.read_text())
    commands = [
        h["command"]
        for groups in data["hooks"].values()
        for g in groups
        for h in g["hooks"]
        if hookfile.is_ours(h, install.TARGET)
    ]
    assert commands == [install.hook_command()] * 14
    assert install.check(install.plan()).untrusted == []
    path.write_text(path.read_text().replace(json.dumps(install.hook_command())[1:-1], old))
    assert run("uninstall", "--target", "codex").exit_code == 0
    assert [(user_files / f).read_bytes() for f in ("hooks.json", "config.toml")] == before
