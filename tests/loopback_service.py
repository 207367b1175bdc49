"""A real backend server for interop tests: started on 127.0.0.1 from a venv of its own.

Phoenix and MLflow each ship as a PyPI package with many dependencies; each lives in
`$STASO_TEST_CACHE/<name>-<version>` (installed on first use, `.ci/run` fills the same
folder) so they never mix with staso's. `Service` starts one on free loopback ports with a
scratch working directory, waits (bounded) until its health URL answers, and stops it.
"""

from __future__ import annotations

import json
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

from e2e_sandbox import cache_dir

START_TIMEOUT_S = 300.0  # a 2-core CI machine starting Phoenix or MLflow is slow


def venv_binary(package: str, version: str, name: str) -> Path:
    """`name` from `package==version`, installed into its own venv in the test cache."""
    venv = cache_dir() / f"{name}-{version}"
    binary = venv / "bin" / name
    if not binary.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
        subprocess.run(
            [str(venv / "bin" / "pip"), "install", "-q", f"{package}=={version}"],
            check=True,
            timeout=1800,
            capture_output=True,
        )
    return binary


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Service:
    """One server process; subclasses say how to start it and where it is healthy."""

    port: int = 0
    workdir: Path | None = None
    process: subprocess.Popen | None = None
    log: Any = field(default=None, repr=False)

    name = "service"
    health_path = "/health"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> tuple[list[str], dict[str, str]]:
        raise NotImplementedError

    def start(self) -> Service:
        self.port = free_port()
        self.workdir = Path(tempfile.mkdtemp(prefix=f"staso-{self.name}-"))
        argv, env = self.command()
        self.log = open(self.workdir / "server.log", "wb")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            argv, env=env, cwd=self.workdir, stdout=self.log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.tail()}")
            try:
                with urllib.request.urlopen(self.base_url + self.health_path, timeout=2) as r:
                    if r.status == 200:
                        return self
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"{self.name} did not answer in {START_TIMEOUT_S:.0f} s: {self.tail()}")

    def tail(self) -> str:
        assert self.workdir is not None
        return (self.workdir / "server.log").read_text(errors="replace")[-2000:]

    def request(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.base_url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"} if data else {},
        )
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read() or b"null")

    def get(self, path: str) -> Any:
        return self.request("GET", path)

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
            self.log = None


def clean_env(*prefixes: str) -> dict[str, str]:
    """This process's environment without the given variable prefixes (OTEL_*, ...)."""
    return {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
