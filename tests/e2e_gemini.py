"""Drive the real Gemini CLI offline: install it from npm once, point it at a mock.

`gemini_binary(version)` installs `@google/gemini-cli@<version>` into the test cache
(e2e_sandbox.py).
`GeminiSandbox` is a throwaway HOME + workspace whose environment sends model requests to
tests/mock_gemini.py on 127.0.0.1 (GOOGLE_GEMINI_BASE_URL, GEMINI_API_KEY=dummy; the
settings select API-key auth, which the CLI needs before it reads the key), with its
temp files kept in the sandbox. Setup is left to `staso setup --target gemini`, as a user
does it; the CLI runs headless (`-p`) with `--yolo` and `--skip-trust` (a headless run in
an untrusted folder refuses to start).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from e2e_sandbox import AgentSandbox

# The release before the current one and the current latest users run (keep run-tests.sh
# GEMINI_VERSIONS and docs/compatibility.md in step).
GEMINI_VERSIONS = ("0.60.0", "0.61.0")
GEMINI_VERSION = GEMINI_VERSIONS[-1]
AUTH = {"security": {"auth": {"selectedType": "gemini-api-key"}}}


def gemini_binary(version: str = GEMINI_VERSION) -> Path:
    """The real gemini launcher, installed from the npm registry on first use."""
    return GeminiSandbox.install(version)


@dataclass
class GeminiSandbox(AgentSandbox):
    version: str = GEMINI_VERSION

    package: ClassVar[str] = "@google/gemini-cli"
    command: ClassVar[str] = "gemini"
    cache_folder: ClassVar[str] = "gemini-cli"
    own_env_prefixes: ClassVar[tuple[str, ...]] = ("GEMINI", "GOOGLE")

    def __post_init__(self) -> None:
        super().__post_init__()
        self.settings_file.parent.mkdir(parents=True, exist_ok=True)
        if not self.settings_file.exists():
            self.settings_file.write_text(json.dumps(AUTH, indent=2) + "\n")

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    @property
    def settings_file(self) -> Path:
        return self.home / ".gemini" / "settings.json"

    def folders(self) -> tuple[Path, ...]:
        return (*super().folders(), self.tmp)

    def agent_env(self) -> dict[str, str]:
        return {
            "TMPDIR": str(self.tmp),  # the CLI writes error reports there
            "GEMINI_API_KEY": "dummy",
            "GOOGLE_GEMINI_BASE_URL": self.mock_url,
        }

    def run(self, *args: str, env: dict[str, str] | None = None) -> dict:
        """`gemini <args> --yolo --skip-trust -o json`; the final JSON report."""
        stdout = self.run_cli([*args, "--yolo", "--skip-trust", "-o", "json"], env).stdout
        start = stdout.find("{")
        return json.loads(stdout[start:]) if start >= 0 else {}

    def transcripts(self) -> list[Path]:
        return sorted((self.home / ".gemini" / "tmp").rglob("chats/session-*.jsonl"))
