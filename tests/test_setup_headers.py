"""`staso setup --header`: a backend's own header (MLflow's experiment id, Langfuse's
Basic auth) is stored with the endpoint and sent to that endpoint only."""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner
from e2e_codex import codex_binary
from otlp_receiver import Receiver
from pipeline_helpers import record_fixture
from staso_cli.main import cli

from staso_otel import settings
from staso_otel.pipeline import worker


@pytest.fixture
def codex_on_path(monkeypatch):
    monkeypatch.setenv("PATH", f"{codex_binary().parent}{os.pathsep}{os.environ['PATH']}")


def test_setup_header_reaches_its_endpoint_and_no_other(isolated_homes, codex_on_path, monkeypatch):
    ours, other = Receiver().start(), Receiver().start()
    try:
        result = CliRunner().invoke(
            cli,
            [
                "setup",
                "--target",
                "codex",
                "--endpoint",
                ours.endpoint,
                "--header",
                "x-mlflow-experiment-id=7",
                "--header",
                "x-team = infra",
            ],
        )
        assert result.exit_code == 0, result.output
        record_fixture("hello", isolated_homes["codex"])
        report = worker.drain(settings=settings.load())
        assert report.spans_sent == 2, report
        sent = {k.lower(): v for k, v in ours.requests[0]["headers"].items()}
        assert sent["x-mlflow-experiment-id"] == "7" and sent["x-team"] == "infra"

        # the same profile with the endpoint pointed elsewhere: the header stays behind
        monkeypatch.setenv("STASO_ENDPOINT", other.endpoint)
        record_fixture("tour_resume", isolated_homes["codex"])
        report = worker.drain(settings=settings.load())
        assert report.spans_left == 0 and other.requests, report
        for request in other.requests:
            assert "x-mlflow-experiment-id" not in {k.lower() for k in request["headers"]}
    finally:
        ours.stop()
        other.stop()


@pytest.mark.parametrize("bad", ["no-equals-sign", "=value"])
def test_setup_header_needs_name_and_value(isolated_homes, bad):
    result = CliRunner().invoke(
        cli, ["setup", "--target", "codex", "--endpoint", "http://127.0.0.1:4318", "--header", bad]
    )
    assert result.exit_code == 2
    assert "NAME=VALUE" in result.output and "Traceback" not in result.output
    assert not (isolated_homes["codex"] / "hooks.json").exists()  # nothing half done
