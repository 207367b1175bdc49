"""Every test gets its own STASO_HOME and CODEX_HOME, and internal errors raise."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True)
def isolated_homes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    homes = {
        "staso": tmp_path / "staso-home",
        "codex": tmp_path / "codex-home",
        "claude": tmp_path / "claude-home",
        "home": tmp_path / "home",
    }
    for path in homes.values():
        path.mkdir()
    monkeypatch.setenv("STASO_HOME", str(homes["staso"]))
    monkeypatch.setenv("CODEX_HOME", str(homes["codex"]))
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(homes["claude"]))
    monkeypatch.setenv("HOME", str(homes["home"]))
    monkeypatch.setenv("STASO_RAISE_INTERNAL", "1")
    # a worker a test's hook started against a dead collector must not stay for a day
    monkeypatch.setenv("STASO_RETRY_LINGER_SECONDS", "60")
    for var in (
        "STASO_API_KEY",
        "STASO_ENDPOINT",
        "STASO_PROFILE",
        "STASO_HEADERS",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_EXPORTER_OTLP_HEADERS",
        "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
        "OTEL_SERVICE_NAME",
        "OTEL_RESOURCE_ATTRIBUTES",
        "GEMINI_CLI_HOME",  # Gemini CLI's settings then follow HOME
        *(v for v in list(os.environ) if v.startswith("OTEL_")),  # a developer's shell
    ):
        monkeypatch.delenv(var, raising=False)
    return homes


@pytest.fixture
def receiver():
    """A real OTLP/HTTP receiver on 127.0.0.1:<free port>, stopped after the test."""
    from otlp_receiver import Receiver

    rec = Receiver().start()
    yield rec
    rec.stop()


@pytest.fixture
def fast_export(monkeypatch: pytest.MonkeyPatch) -> None:
    """Short exporter timeout so failure paths (the SDK retries inside it) stay quick."""
    monkeypatch.setenv("STASO_EXPORT_TIMEOUT", "1.5")


@pytest.fixture(scope="session")
def certs(tmp_path_factory) -> dict[str, Path]:
    """A self-signed certificate for 127.0.0.1, made with the openssl CLI."""
    if shutil.which("openssl") is None:
        pytest.fail("the openssl CLI is needed for the TLS tests (apt-get install openssl)")
    folder = tmp_path_factory.mktemp("tls")
    for name in ("server", "other"):
        subprocess.run(
            [
                "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                "-keyout", str(folder / f"{name}.key"), "-out", str(folder / f"{name}.pem"),
                "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )  # fmt: skip
    return {
        "cert": folder / "server.pem",
        "key": folder / "server.key",
        "other": folder / "other.pem",
    }
