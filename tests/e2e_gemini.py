"""Drive the real Gemini CLI offline: install it from npm once, point it at a mock.

`gemini_binary(version)` installs `@google/gemini-cli@<version>` into the test cache
(STASO_TEST_CACHE, default `<repo>/.cache`; run-tests.sh fills the same folder).
`GeminiSandbox` is a throwaway HOME + workspace whose environment sends model requests to
tests/mock_gemini.py on 127.0.0.1 (GOOGLE_GEMINI_BASE_URL, GEMINI_API_KEY=dummy; the
settings select API-key auth, which the CLI needs before it reads the key), with its
temp files kept in the sandbox. Setup is left to `staso setup --target gemini`, as a user
does it; the CLI runs headless (`-p`) with `--yolo` and `--skip-trust` (a headless run in
an untrusted folder refuses to start).
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from e2e_codex import npm_binary

# The release before the current one and the current latest users run (keep run-tests.sh
# GEMINI_VERSIONS and docs/compatibility.md in step).
GEMINI_VERSIONS = ("0.60.0", "0.61.0")
GEMINI_VERSION = GEMINI_VERSIONS[-1]
AUTH = {"security": {"auth": {"selectedType": "gemini-api-key"}}}


def gemini_binary(version: str = GEMINI_VERSION) -> Path:
    """The real gemini launcher, installed from the npm registry on first use."""
    return npm_binary("@google/gemini-cli", version, f"gemini-cli-{version}", "gemini")


@dataclass
class GeminiSandbox:
    root: Path
    mock_url: str
    version: str = GEMINI_VERSION

    def __post_init__(self) -> None:
        for folder in (self.home, self.workspace, self.tmp):
            folder.mkdir(parents=True, exist_ok=True)
        self.settings_file.parent.mkdir(parents=True, exist_ok=True)
        if not self.settings_file.exists():
            self.settings_file.write_text(json.dumps(AUTH, indent=2) + "\n")

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def workspace(self) -> Path:
        return self.root / "workspace"

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    @property
    def settings_file(self) -> Path:
        return self.home / ".gemini" / "settings.json"

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("GEMINI", "GOOGLE", "STASO_RAISE"))
        }
        env.update(
            HOME=str(self.home),
            TMPDIR=str(self.tmp),  # the CLI writes error reports there
            GEMINI_API_KEY="dummy",
            GOOGLE_GEMINI_BASE_URL=self.mock_url,
            NO_COLOR="1",
        )
        env.update(extra)
        return env

    def run(self, *args: str, env: dict[str, str] | None = None) -> dict:
        """`gemini <args> --yolo --skip-trust -o json`; the final JSON report."""
        argv = [str(gemini_binary(self.version)), *args, "--yolo", "--skip-trust", "-o", "json"]
        proc = subprocess.run(
            argv,
            cwd=self.workspace,
            env=env or self.env(),
            capture_output=True,
            text=True,
            timeout=240,
            stdin=subprocess.DEVNULL,
        )
        assert proc.returncode == 0, f"gemini failed ({proc.returncode}): {proc.stderr[-2000:]}"
        start = proc.stdout.find("{")
        return json.loads(proc.stdout[start:]) if start >= 0 else {}

    def transcripts(self) -> list[Path]:
        return sorted((self.home / ".gemini" / "tmp").rglob("chats/session-*.jsonl"))
