"""Drive the real Claude Code CLI offline: install it from npm once, point it at a mock.

`claude_binary(version)` installs `@anthropic-ai/claude-code@<version>` into the test cache
(STASO_TEST_CACHE, default `<repo>/.cache`; `.ci/run` fills the same folder).
`ClaudeSandbox` is a throwaway HOME + workspace whose environment sends model requests to
`tests/mock_anthropic.py` on 127.0.0.1, with Claude Code's telemetry, updater and error
reporting off. Setup is left to `staso setup --target claude-code`, as a user does it.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from e2e_codex import npm_binary

# The release the recordings were first made with, and the current latest users run (keep
# run-tests.sh CLAUDE_VERSIONS and docs/compatibility.md in step).
CLAUDE_VERSIONS = ("2.1.330", "2.1.332")
CLAUDE_VERSION = CLAUDE_VERSIONS[0]


# A user skill whose text runs a command before the model sees it (`!cmd`): Claude Code
# 2.1.332 raises PreSkillShellCommand for it. `/greet` invokes it.
GREET_SKILL = """---
name: greet
description: Say hello with the date
---
Today is !`echo skill-preamble-ran`.

Greet the user.
"""


def write_greet_skill(home: Path) -> None:
    skill = home / ".claude" / "skills" / "greet" / "SKILL.md"
    skill.parent.mkdir(parents=True, exist_ok=True)
    skill.write_text(GREET_SKILL)


def claude_binary(version: str = CLAUDE_VERSION) -> Path:
    """The real claude binary, installed from the npm registry on first use."""
    return npm_binary("@anthropic-ai/claude-code", version, f"claude-code-{version}", "claude")


@dataclass
class ClaudeSandbox:
    root: Path
    mock_url: str
    version: str = CLAUDE_VERSION

    def __post_init__(self) -> None:
        for folder in (self.home, self.workspace):
            folder.mkdir(parents=True, exist_ok=True)

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def workspace(self) -> Path:
        return self.root / "workspace"

    @property
    def settings_file(self) -> Path:
        return self.home / ".claude" / "settings.json"

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("ANTHROPIC", "CLAUDE", "STASO_RAISE"))
        }
        env.update(
            HOME=str(self.home),
            ANTHROPIC_BASE_URL=self.mock_url,
            ANTHROPIC_API_KEY="dummy",
            DISABLE_TELEMETRY="1",
            CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
            DISABLE_AUTOUPDATER="1",
            DISABLE_ERROR_REPORTING="1",
            # --dangerously-skip-permissions refuses to run as root unless told it is a sandbox
            IS_SANDBOX="1",
            NO_COLOR="1",
        )
        env.update(extra)
        return env

    def run(self, *args: str, env: dict[str, str] | None = None) -> tuple[str | None, list[dict]]:
        """`claude <args> --output-format stream-json`; (session id, the event stream)."""
        argv = [
            str(claude_binary(self.version)),
            *args,
            "--output-format",
            "stream-json",
            "--verbose",
            "--dangerously-skip-permissions",
        ]
        proc = subprocess.run(
            argv,
            cwd=self.workspace,
            env=env or self.env(),
            capture_output=True,
            text=True,
            timeout=240,
            stdin=subprocess.DEVNULL,
        )
        assert proc.returncode == 0, f"claude failed ({proc.returncode}): {proc.stderr[-2000:]}"
        events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
        session = next((e["session_id"] for e in events if e.get("session_id")), None)
        return session, events
