"""`staso status` claims nothing about hooks that are not there, and `--json` of status,
setup, uninstall and sync gives typed fields, not display strings."""

from __future__ import annotations

import json

from click.testing import CliRunner
from staso_cli.main import cli

LOCAL = ["--endpoint", "http://127.0.0.1:4318"]


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_status_without_hooks_claims_no_trust_and_no_flag(isolated_homes):
    result = run("status", "--target", "codex")
    assert result.exit_code == 1
    assert "all trusted" not in result.output
    assert "flag hooks" not in result.output
    assert "no staso hooks" in result.output


def test_status_json_is_typed(isolated_homes):
    assert run("setup", "--target", "codex", *LOCAL).exit_code == 0
    result = run("status", "--target", "codex", "--json")
    report = json.loads(result.output)
    assert "lines" not in report  # display strings stay out of the machine output
    install = report["install"]
    assert install["events_installed"] and all(isinstance(e, str) for e in install["events"])
    assert install["untrusted"] == 0 and install["flag_on"] is True
    assert isinstance(report["reachable"], bool)
    assert isinstance(report["spool"]["spans"], int)
    assert all(isinstance(p, str) for p in report["problems"])
    assert report["ok"] is (not report["problems"])


def test_setup_sync_uninstall_json(isolated_homes):
    setup = json.loads(run("setup", "--target", "claude-code", *LOCAL, "--json").output)
    assert setup["target"] == "claude-code"
    assert setup["endpoint"] == "http://127.0.0.1:4318/v1/traces"
    assert setup["files"] == [str(isolated_homes["claude"] / "settings.json")]
    sync = json.loads(run("sync", "--json").output)
    assert [s["target"] for s in sync["synced"]] == ["claude-code"]
    gone = json.loads(run("uninstall", "--target", "claude-code", "--json").output)
    assert gone["target"] == "claude-code" and gone["was_set_up"] is True
    assert gone["removed"] and all(isinstance(line, str) for line in gone["removed"])
    again = json.loads(run("uninstall", "--target", "claude-code", "--json").output)
    assert again["was_set_up"] is False and again["removed"] == []
