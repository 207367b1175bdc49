"""Drive the real Codex CLI offline: install it from npm once, point it at a mock model.

`codex_binary(version)` installs `@openai/codex@<version>` into a cache folder
(STASO_TEST_CACHE, default `<repo>/.cache`; `run-tests.sh` fills the same folder) and returns
its path. CODEX_VERSIONS are the releases the end-to-end tests run on: the one the recordings
were made with and the current latest (keep run-tests.sh's CODEX_VERSIONS and
docs/compatibility.md in step).
`CodexSandbox` is a throwaway CODEX_HOME + HOME + workspace whose config.toml sends model
requests to `tests/mock_responses.py` on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from staso_otel.targets import hookfile
from staso_otel.targets.codex.install import ALL_EVENTS

ROOT = Path(__file__).resolve().parent.parent
CODEX_VERSIONS = ("0.169.0", "0.171.0")
CODEX_VERSION = CODEX_VERSIONS[0]  # the pinned release the recordings were made with
HOOK_COMMAND = hookfile.hook_command("codex")  # exactly what `staso setup` writes
# a user's own hook (block a command, block a Stop once): tests/recorder/codex_hook_logger.py
USER_HOOK = f"{sys.executable} {ROOT / 'tests' / 'recorder' / 'codex_hook_logger.py'}"


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


def codex_binary(version: str = CODEX_VERSION) -> Path:
    """The real codex binary of `version`, installed from the npm registry on first use."""
    return npm_binary("@openai/codex", version, f"codex-{version}", "codex")


@dataclass
class CodexSandbox:
    root: Path
    mock_url: str
    version: str = CODEX_VERSION

    def __post_init__(self) -> None:
        for folder in (self.codex_home, self.home, self.workspace):
            folder.mkdir(parents=True, exist_ok=True)
        (self.codex_home / "config.toml").write_text(
            "# a user's config: comments and other settings must survive staso\n"
            'model_provider = "mock"\n\n'
            "[model_providers.mock]\n"
            'name = "mock"\n'
            f'base_url = "{self.mock_url}"\n'
            'wire_api = "responses"\n'
            'env_key = "MOCK_API_KEY"\n'
            "request_max_retries = 0\n"
            "stream_max_retries = 0\n"
        )

    @property
    def codex_home(self) -> Path:
        return self.root / "codex-home"

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def workspace(self) -> Path:
        return self.root / "workspace"

    def write_hooks(self, command: str = HOOK_COMMAND, also: dict[str, str] | None = None) -> None:
        """Every event to `command`; `also` adds a user's own hook per event (it runs
        alongside, as Codex runs all matching handlers)."""
        hooks = {
            event: [{"hooks": [{"type": "command", "command": command, "timeout": 30}]}]
            for event in ALL_EVENTS
        }
        for event, extra in (also or {}).items():
            hooks[event].append({"hooks": [{"type": "command", "command": extra, "timeout": 30}]})
        (self.codex_home / "hooks.json").write_text(json.dumps({"hooks": hooks}, indent=2))

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("OPENAI_", "CODEX_", "STASO_RAISE"))
        }
        env.update(
            CODEX_HOME=str(self.codex_home),
            HOME=str(self.home),
            MOCK_API_KEY="dummy-key",
            NO_COLOR="1",
        )
        env.update(extra)
        return env

    def exec(
        self,
        prompt: str,
        *extra_args: str,
        resume: str | None = None,
        env: dict[str, str] | None = None,
        bypass: bool = True,
    ) -> tuple[str | None, list[dict]]:
        """`codex exec --json`; returns (thread id, the JSON event stream). `bypass` False
        keeps Codex's approvals and sandbox (e.g. with --approve-for-me)."""
        argv = [str(codex_binary(self.version)), "exec"]
        if resume:
            argv += ["resume", resume]
        argv += [
            "--json",
            "--skip-git-repo-check",
            *(["--dangerously-bypass-approvals-and-sandbox"] if bypass else []),
            *extra_args,
        ]
        if not resume:
            argv += ["-C", str(self.workspace)]
        argv.append(prompt)
        proc = subprocess.run(
            argv,
            cwd=self.workspace,
            env=env or self.env(),
            capture_output=True,
            text=True,
            timeout=90,
            stdin=subprocess.DEVNULL,
        )
        assert proc.returncode == 0, f"codex failed ({proc.returncode}): {proc.stderr[-2000:]}"
        events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
        thread = next(
            (e.get("thread_id") for e in events if e.get("type") == "thread.started"), None
        )
        return thread, events
