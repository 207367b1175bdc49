"""Credentials are bound to the origin they were given for (issue 12).

Two real receivers: the one `staso setup` named, and an "ambient" one some other
application exports to from the user's shell. The real export worker (the process a hook
spawns, with the hook's inherited environment) must never hand the Staso key or staso's
own headers to the ambient one, and `staso status` must say where spans go and why.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from otlp_receiver import Receiver
from staso_cli.main import cli

from staso_otel import paths
from staso_otel import settings as settings_mod
from staso_otel.local import replay

HELLO = Path(__file__).parent / "fixtures" / "codex" / "hello"
KEY = "ak_live_creds_test_0123456789"


@pytest.fixture
def ambient():
    rec = Receiver().start()
    yield rec
    rec.stop()


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, list(args), env=env)


def setup(endpoint: str, *extra: str) -> None:
    result = run("setup", "--target", "codex", "--api-key", KEY, "--endpoint", endpoint, *extra)
    assert result.exit_code == 0, result.output


def record_session(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("STASO_NO_WORKER", "1")
    replay.replay(HELLO, tmp_path / "scratch")


def run_worker(env: dict[str, str]) -> None:
    """The detached worker exactly as the hook starts it, in the hook's environment."""
    full = {k: v for k, v in os.environ.items() if k != "STASO_NO_WORKER"}
    full.update({"STASO_WORKER_IDLE_SECONDS": "0.2", "STASO_EXPORT_TIMEOUT": "5", **env})
    subprocess.run(
        [sys.executable, "-m", "staso_otel.pipeline.worker"], env=full, timeout=90, check=True
    )


def headers_of(rec: Receiver) -> list[dict[str, str]]:
    return [{k.lower(): v for k, v in r["headers"].items()} for r in rec.requests]


def test_ambient_otel_endpoint_does_not_redirect_a_set_up_agent(
    receiver, ambient, tmp_path, monkeypatch
):
    setup(receiver.base_url)
    record_session(tmp_path, monkeypatch)
    run_worker(
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT": ambient.base_url,
            "OTEL_EXPORTER_OTLP_HEADERS": "authorization=Bearer%20other-app",
        }
    )
    assert ambient.requests == []  # nothing at all went to the other application's collector
    assert receiver.spans and all(h["x-api-key"] == KEY for h in headers_of(receiver))
    # the other application's header is bound to its own collector, not to ours
    assert all("authorization" not in h for h in headers_of(receiver))


def test_opting_in_follows_the_otel_endpoint_and_the_key_stays_home(
    receiver, ambient, tmp_path, monkeypatch
):
    setup(receiver.base_url, "--use-otel-endpoint")
    record_session(tmp_path, monkeypatch)
    run_worker(
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT": ambient.base_url,
            "OTEL_EXPORTER_OTLP_HEADERS": "authorization=Bearer%20other-app",
        }
    )
    assert receiver.requests == []
    assert ambient.spans
    for h in headers_of(ambient):
        assert "x-api-key" not in h and KEY not in str(h)
        assert h["authorization"] == "Bearer other-app"  # its own header goes with it


def test_staso_endpoint_elsewhere_gets_neither_the_key_nor_the_profiles_headers(
    receiver, ambient, tmp_path, monkeypatch
):
    setup(receiver.base_url)
    stored = settings_mod.load_profiles()["profiles"]["default"]
    settings_mod.save_profile("default", {**stored, "headers": {"x-staso-team": "t1"}})
    record_session(tmp_path, monkeypatch)
    run_worker({"STASO_ENDPOINT": ambient.base_url})
    assert receiver.requests == [] and ambient.spans
    for h in headers_of(ambient):
        assert "x-api-key" not in h and "x-staso-team" not in h


def test_a_key_given_with_staso_endpoint_goes_there(receiver, ambient, tmp_path, monkeypatch):
    setup(receiver.base_url)
    record_session(tmp_path, monkeypatch)
    run_worker({"STASO_ENDPOINT": ambient.base_url, "STASO_API_KEY": "ak_other"})
    assert ambient.spans and all(h["x-api-key"] == "ak_other" for h in headers_of(ambient))
    assert receiver.requests == []


def test_status_says_where_spans_go_which_setting_and_whether_the_key_goes(receiver, ambient):
    setup(receiver.base_url)
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": ambient.base_url}
    out = run("status", "--target", "codex", env=env).output
    assert f"{receiver.endpoint} (profile 'default')" in out
    assert "api key        sent" in out
    assert f"OTEL_EXPORTER_OTLP_ENDPOINT={ambient.base_url} ignored" in out
    assert "--use-otel-endpoint" in out  # how to follow it on purpose

    out = run("status", "--target", "codex", env={"STASO_ENDPOINT": ambient.endpoint}).output
    assert f"{ambient.endpoint} (STASO_ENDPOINT)" in out
    assert f"api key        not sent: it was given for http://127.0.0.1:{receiver.port}" in out


def test_setup_stores_what_it_was_told_not_the_ambient_endpoint(ambient):
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": ambient.base_url}
    result = run("setup", "--target", "codex", "--api-key", KEY, env=env)
    assert result.exit_code == 0, result.output
    profile = settings_mod.load_profiles()["profiles"]["default"]
    assert profile["endpoint"] == settings_mod.STASO_ENDPOINT
    assert f"spans go to {settings_mod.STASO_ENDPOINT}" in result.output
    assert "OTEL_EXPORTER_OTLP_ENDPOINT" in result.output  # told that it was ignored


def test_a_key_from_an_old_credentials_file_is_bound_to_the_profiles_endpoint(receiver, ambient):
    settings_mod.save_profile("default", {"endpoint": receiver.endpoint}, api_key=KEY)
    creds = paths.credentials_file()
    creds.write_text(json.dumps({"profiles": {"default": {"api_key": KEY}}}))  # no origin
    env = {"STASO_ENDPOINT": ambient.endpoint}
    assert "X-API-Key" not in settings_mod.load(env=env).export_headers()
    assert settings_mod.load(env={}).export_headers()["X-API-Key"] == KEY


def test_plain_uninstall_names_the_key_it_left_and_purge_removes_staso_home(receiver):
    setup(receiver.base_url)
    result = run("uninstall", "--target", "codex")
    assert result.exit_code == 0, result.output
    creds = paths.credentials_file()
    assert creds.exists()
    assert str(creds) in result.output and "--purge" in result.output
    # what that line says to run works, though the hooks are already gone
    result = run("uninstall", "--target", "codex", "--purge")
    assert result.exit_code == 0, result.output
    assert not creds.exists() and not paths.settings_file().exists()
    assert not paths.staso_home().exists()
    assert "removed" in result.output and str(paths.staso_home()) in result.output


def test_purge_right_after_setup_keeps_files_staso_did_not_make(receiver):
    setup(receiver.base_url)
    mine = paths.staso_home() / "my-notes.txt"
    mine.write_text("not staso's")
    result = run("uninstall", "--target", "codex", "--purge")
    assert result.exit_code == 0, result.output
    assert not paths.credentials_file().exists() and not paths.journal_dir().exists()
    assert sorted(p.name for p in paths.staso_home().iterdir()) == ["my-notes.txt"]


def test_purge_refuses_while_another_agent_is_traced_and_changes_nothing(receiver):
    setup(receiver.base_url)
    result = run("setup", "--target", "claude-code", "--endpoint", receiver.base_url)
    assert result.exit_code == 0, result.output
    before = paths.credentials_file().read_bytes()
    result = run("uninstall", "--target", "codex", "--purge")
    assert result.exit_code == 1 and "Claude Code is still traced" in result.output
    assert paths.credentials_file().read_bytes() == before
    assert run("status", "--target", "codex").output.count("14 events") == 1  # hooks kept
