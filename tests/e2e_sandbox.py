"""What every end-to-end test of a real agent CLI shares: the npm install, the sandbox.

`npm_binary()` installs a CLI from the npm registry into the test cache once
(STASO_TEST_CACHE, default `<repo>/.cache`; `.ci/run` fills the same folder).
`AgentSandbox` is a throwaway root holding the agent's HOME and workspace, an environment
with the user's own settings for that agent filtered out (so a developer's real keys and
config never reach a test), and a run with a timeout that fails with the CLI's stderr.
Each agent's module (e2e_codex, e2e_claude, e2e_gemini) adds only its facts: its npm
package, the variables it reads, how it is pointed at its mock model and how its output is
read back.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

ROOT = Path(__file__).resolve().parent.parent


def cache_dir() -> Path:
    return Path(os.environ.get("STASO_TEST_CACHE") or ROOT / ".cache")


def npm_binary(package: str, version: str, folder: str, name: str) -> Path:
    """`name` from npm package `package@version`, installed into the test cache once."""
    prefix = cache_dir() / folder
    binary = prefix / "node_modules" / ".bin" / name
    if not binary.exists():
        npm = shutil.which("npm")
        assert npm, f"npm is needed to install {package} for end-to-end tests"
        prefix.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                npm,
                "install",
                "--prefix",
                str(prefix),
                "--no-audit",
                "--no-fund",
                f"{package}@{version}",
            ],
            check=True,
            timeout=900,
            capture_output=True,
        )
    return binary


@dataclass
class AgentSandbox:
    """A HOME + workspace under `root` for one agent CLI of `version`, talking to a mock
    model at `mock_url`."""

    root: Path
    mock_url: str
    version: str

    # the agent's facts, set by each subclass
    package: ClassVar[str]  # its npm package
    command: ClassVar[str]  # the executable the package installs
    cache_folder: ClassVar[str]  # its folder in the test cache, before `-<version>`
    own_env_prefixes: ClassVar[tuple[str, ...]]  # the user's variables for this agent
    timeout_s: ClassVar[float] = 240

    def __post_init__(self) -> None:
        for folder in self.folders():
            folder.mkdir(parents=True, exist_ok=True)

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def workspace(self) -> Path:
        return self.root / "workspace"

    def folders(self) -> tuple[Path, ...]:
        return (self.home, self.workspace)

    @classmethod
    def install(cls, version: str) -> Path:
        """The real CLI of `version`, installed from npm on first use."""
        return npm_binary(cls.package, version, f"{cls.cache_folder}-{version}", cls.command)

    def binary(self) -> Path:
        return self.install(self.version)

    def agent_env(self) -> dict[str, str]:
        """What points the agent at the sandbox and the mock (beside HOME)."""
        raise NotImplementedError

    def env(self, **extra: str) -> dict[str, str]:
        skip = (*self.own_env_prefixes, "STASO_RAISE")
        env = {k: v for k, v in os.environ.items() if not k.startswith(skip)}
        env.update(HOME=str(self.home), NO_COLOR="1")
        env.update(self.agent_env())
        env.update(extra)
        return env

    def traced_env(self, endpoint: str | None = None, **extra: str) -> dict[str, str]:
        """`env()` for a run staso traces: the test's STASO_HOME, spans to `endpoint` (unset:
        what setup wrote), and a worker that stops after a second idle, not a test's end."""
        if endpoint is not None:
            extra = {"STASO_ENDPOINT": endpoint, **extra}
        return self.env(STASO_HOME=os.environ["STASO_HOME"], STASO_WORKER_IDLE_SECONDS="1", **extra)

    def run_cli(
        self, argv: list[str], env: dict[str, str] | None = None, timeout_s: float | None = None
    ) -> subprocess.CompletedProcess[str]:
        """The CLI with `argv` in the workspace, no stdin; fails the test on a non-zero exit."""
        proc = subprocess.run(
            [str(self.binary()), *argv],
            cwd=self.workspace,
            env=env or self.env(),
            capture_output=True,
            text=True,
            timeout=timeout_s or self.timeout_s,
            stdin=subprocess.DEVNULL,
        )
        assert proc.returncode == 0, (
            f"{self.command} failed ({proc.returncode}): {proc.stderr[-2000:]}"
        )
        return proc


def received_tree(spans: list[dict], sessions: Collection[str]) -> dict[str, dict]:
    """The spans a receiver got, by span id, once it is checked that some came, none came
    twice, each is of one of `sessions` and each one's parent came too."""
    assert spans, "no span reached the receiver"
    assert max(Counter((s["trace_id"], s["span_id"]) for s in spans).values()) == 1
    by_id = {s["span_id"]: s for s in spans}
    for s in spans:
        assert s["attributes"]["session.id"] in sessions, s["name"]
        assert s["parent_span_id"] in (None, *by_id), f"orphan {s['name']}"
    return by_id


def json_lines(stdout: str) -> list[dict]:
    """The JSON objects of an event stream printed one a line (other lines skipped)."""
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
