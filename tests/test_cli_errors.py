"""Bad input to `staso`: one line naming the problem and the fix, a non-zero exit, no
traceback, and nothing written. Driven both in-process (CliRunner) and as the console
script a user runs (subprocess)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from staso_cli.main import cli

STASO = Path(sys.executable).with_name("staso")


def run(*args: str, **kwargs):
    return CliRunner().invoke(cli, list(args), **kwargs)


def staso(*args: str, stdin: str = "", timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(STASO), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "STASO_NO_WORKER": "1"},
    )


def tree(root: Path) -> dict[str, bytes]:
    """Every file under root with its bytes: 'nothing written' compared exactly."""
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def one_line_error(output: str) -> str:
    assert "Traceback" not in output
    lines = [line for line in output.strip().splitlines() if line.strip()]
    assert len(lines) == 1, output
    return lines[0]


def test_bare_staso_prints_help_and_exits_0():
    proc = staso()
    assert proc.returncode == 0, proc.stderr
    assert "Usage: staso" in proc.stdout and "setup" in proc.stdout


def test_hook_help_prints_help_and_records_nothing(isolated_homes):
    before = tree(isolated_homes["staso"])
    for flag in ("--help", "-h"):
        proc = staso("hook", flag, stdin="")
        assert proc.returncode == 0
        assert "Usage: staso hook" in proc.stdout
    assert tree(isolated_homes["staso"]) == before  # no quarantined "--help" event


@pytest.mark.parametrize("port", ["99999", "-1", "0"])
def test_collector_with_an_impossible_port_is_one_line(port):
    proc = staso("collector", "--port", port)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]  # click's usage lines, then the one error
    assert last.startswith("Error: Invalid value for '--port'") and "1<=x<=65535" in last


def test_empty_endpoint_with_a_key_is_refused_not_sent_to_staso(isolated_homes):
    before = {name: tree(home) for name, home in isolated_homes.items()}
    result = run("setup", "--target", "codex", "--api-key", "sk-staso-1", "--endpoint", "")
    assert result.exit_code == 2
    assert "--endpoint" in result.output and "empty" in result.output
    assert "Traceback" not in result.output
    assert {name: tree(home) for name, home in isolated_homes.items()} == before


@pytest.mark.parametrize("bad", ["localhost:4318", "ftp://x", "   "])
def test_wizard_names_a_bad_endpoint_and_asks_again(isolated_homes, monkeypatch, bad):
    monkeypatch.setattr("staso_cli.commands.setup.interactive", lambda: True)
    answers = ["codex", bad, "http://127.0.0.1:4318", "ws", "dev", "bot", "global", "y"]
    result = run("setup", input="\n".join(answers) + "\n")
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert "is not an http(s) URL" in result.output
    assert result.output.count("Send spans to") == 2  # asked again
    assert "spans go to http://127.0.0.1:4318/v1/traces" in result.output


def test_uninstall_when_nothing_is_set_up_says_so_and_creates_nothing(isolated_homes):
    before = {name: tree(home) for name, home in isolated_homes.items()}
    for target in ("codex", "claude-code"):
        proc = staso("uninstall", "--target", target)
        assert proc.returncode == 0, proc.stderr
        assert "not set up" in proc.stdout and "nothing to remove" in proc.stdout
        assert "no longer traces" not in proc.stdout
    assert {name: tree(home) for name, home in isolated_homes.items()} == before
    assert not any(isolated_homes["staso"].iterdir())


def test_shell_completion_as_the_readme_documents_it():
    script = subprocess.run(
        [str(STASO)], env={**os.environ, "_STASO_COMPLETE": "bash_source"}, **_captured()
    )
    assert "_staso_completion" in script.stdout
    env = {**os.environ, "_STASO_COMPLETE": "bash_complete", "COMP_CWORD": "3"}
    env["COMP_WORDS"] = "staso setup --target "
    targets = subprocess.run([str(STASO)], env=env, **_captured())
    assert targets.stdout.split() == ["plain,codex", "plain,claude-code", "plain,gemini"]


def _captured() -> dict:
    return {"capture_output": True, "text": True, "timeout": 60}
