"""Drive the real Claude Code CLI offline: install it from npm once, point it at a mock.

`claude_binary(version)` installs `@anthropic-ai/claude-code@<version>` into the test cache
(e2e_sandbox.py).
`ClaudeSandbox` is a throwaway HOME + workspace whose environment sends model requests to
`tests/mock_anthropic.py` on 127.0.0.1, with Claude Code's telemetry, updater and error
reporting off. Setup is left to `staso setup --target claude-code`, as a user does it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from e2e_sandbox import AgentSandbox, json_lines

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
    return ClaudeSandbox.install(version)


@dataclass
class ClaudeSandbox(AgentSandbox):
    version: str = CLAUDE_VERSION

    package: ClassVar[str] = "@anthropic-ai/claude-code"
    command: ClassVar[str] = "claude"
    cache_folder: ClassVar[str] = "claude-code"
    own_env_prefixes: ClassVar[tuple[str, ...]] = ("ANTHROPIC", "CLAUDE")

    @property
    def settings_file(self) -> Path:
        return self.home / ".claude" / "settings.json"

    def agent_env(self) -> dict[str, str]:
        return {
            "ANTHROPIC_BASE_URL": self.mock_url,
            "ANTHROPIC_API_KEY": "dummy",
            "DISABLE_TELEMETRY": "1",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "DISABLE_AUTOUPDATER": "1",
            "DISABLE_ERROR_REPORTING": "1",
            # --dangerously-skip-permissions refuses to run as root unless told it is a sandbox
            "IS_SANDBOX": "1",
        }

    def run(self, *args: str, env: dict[str, str] | None = None) -> tuple[str | None, list[dict]]:
        """`claude <args> --output-format stream-json`; (session id, the event stream)."""
        argv = [*args, "--output-format", "stream-json", "--verbose"]
        argv.append("--dangerously-skip-permissions")
        events = json_lines(self.run_cli(argv, env).stdout)
        session = next((e["session_id"] for e in events if e.get("session_id")), None)
        return session, events
