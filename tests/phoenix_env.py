"""A real Arize Phoenix on 127.0.0.1 for interop tests, in its own virtual environment.

`phoenix_binary()` installs `arize-phoenix==20.26.1` into `$STASO_TEST_CACHE/phoenix-20.26.1`
on first use (`.ci/run` fills the same folder), so Phoenix's many dependencies never mix
with staso's. `Phoenix` starts `phoenix serve` on free loopback ports with its telemetry
and external resources off and a scratch working directory, and waits (bounded) until
/healthz answers.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from e2e_codex import cache_dir

PHOENIX_VERSION = "20.26.1"
START_TIMEOUT_S = 180.0


def phoenix_binary() -> Path:
    venv = cache_dir() / f"phoenix-{PHOENIX_VERSION}"
    binary = venv / "bin" / "phoenix"
    if not binary.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
        subprocess.run(
            [str(venv / "bin" / "pip"), "install", "-q", f"arize-phoenix=={PHOENIX_VERSION}"],
            check=True,
            timeout=1200,
            capture_output=True,
        )
    return binary


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Phoenix:
    port: int = 0
    grpc_port: int = 0
    workdir: Path | None = None
    process: subprocess.Popen | None = None
    log: Any = field(default=None, repr=False)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def endpoint(self) -> str:
        return f"{self.base_url}/v1/traces"

    def start(self) -> Phoenix:
        self.port, self.grpc_port = free_port(), free_port()
        self.workdir = Path(tempfile.mkdtemp(prefix="staso-phoenix-"))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PHOENIX_", "OTEL_"))}
        env.update(
            PHOENIX_HOST="127.0.0.1",
            PHOENIX_PORT=str(self.port),
            PHOENIX_GRPC_PORT=str(self.grpc_port),
            PHOENIX_WORKING_DIR=str(self.workdir),
            PHOENIX_TELEMETRY_ENABLED="false",
            PHOENIX_ALLOW_EXTERNAL_RESOURCES="false",
        )
        self.log = open(self.workdir / "phoenix.log", "wb")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            [str(phoenix_binary()), "serve"], env=env, stdout=self.log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"phoenix exited: {self.tail()}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/healthz", timeout=2) as r:
                    if r.status == 200:
                        return self
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"phoenix did not answer in {START_TIMEOUT_S:.0f} s: {self.tail()}")

    def tail(self) -> str:
        assert self.workdir is not None
        return (self.workdir / "phoenix.log").read_text(errors="replace")[-2000:]

    def get(self, path: str) -> Any:
        import json

        with urllib.request.urlopen(f"{self.base_url}{path}", timeout=30) as r:
            return json.loads(r.read())

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
        if self.log is not None:
            self.log.close()
