"""The agents whose hooks live in a settings.json, as the shared install tests know them.

`tests/test_install_settings_agents.py` runs one body per behaviour over every agent here;
a new agent of this kind adds its facts below, not test bodies.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from click.testing import CliRunner, Result
from staso_cli.main import cli

from staso_otel.targets import hookfile
from staso_otel.targets.claude_code import install as claude_install
from staso_otel.targets.gemini import install as gemini_install

ENDPOINT = ["--endpoint", "http://127.0.0.1:4318"]


def run(*args: str, **kwargs) -> Result:
    return CliRunner().invoke(cli, list(args), **kwargs)


def ours(data: dict, target: str) -> dict[str, list[dict]]:
    """staso's handlers in a settings document, each in its group, by event."""
    found: dict[str, list[dict]] = {}
    for event, groups in data.get("hooks", {}).items():
        for group in groups:
            for handler in group["hooks"]:
                if hookfile.is_ours(handler, target):
                    found.setdefault(event, []).append({**group, "hooks": [handler]})
    return found


@dataclass(frozen=True)
class SettingsAgent:
    target: str  # `--target`
    name: str  # as staso's messages name the agent
    install: ModuleType
    user_text: str  # the user's global settings.json before staso touches it
    kept_as_written: tuple[str, ...]  # pieces of it that setup must leave to the letter
    global_settings: Callable[[dict[str, Path]], Path]  # that file, in `isolated_homes`
    binary: str  # the agent's command on PATH
    version_output: str  # what `<binary> --version` prints
    version: str  # what status shows of it
    switches_off: tuple[tuple[dict, str], ...]  # settings that stop our hook, the key status names
    scopes: tuple[tuple[str, str], ...]  # project scopes and the project's file each writes
    project_note: str | None  # what setup adds for a project file, if anything

    def write_user_settings(self, homes: dict[str, Path]) -> Path:
        path = self.global_settings(homes)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.user_text)
        os.chmod(path, 0o640)
        return path

    def ours(self, data: dict) -> dict[str, list[dict]]:
        return ours(data, self.install.TARGET)


def claude_settings_text(settings: dict) -> str:
    """A settings.json as Claude Code writes it (JSON.stringify, 2 spaces)."""
    return json.dumps(settings, indent=2, ensure_ascii=False) + "\n"


# A user's settings with their own hooks, permissions and an env block.
CLAUDE_USER_SETTINGS = {
    "model": "opus",
    "permissions": {"allow": ["Bash(npm test:*)"], "deny": ["Read(./.env)"]},
    "env": {"FOO": "bar"},
    "hooks": {
        "PreToolUse": [
            {
                "matcher": "Bash",
                "hooks": [{"type": "command", "command": "/usr/local/bin/guard.sh", "timeout": 5}],
            }
        ],
        "Stop": [{"hooks": [{"type": "command", "command": "notify-send done"}]}],
    },
    "statusLine": {"type": "command", "command": "echo ✓ ready"},
}

CLAUDE_CODE = SettingsAgent(
    target="claude-code",
    name="Claude Code",
    install=claude_install,
    user_text=claude_settings_text(CLAUDE_USER_SETTINGS),
    kept_as_written=('"echo ✓ ready"',),
    global_settings=lambda homes: homes["claude"] / "settings.json",
    binary="claude",
    version_output="2.1.330 (Claude Code)",
    version="2.1.330",
    switches_off=(({"disableAllHooks": True}, "disableAllHooks"),),
    scopes=(("project", ".claude/settings.json"), ("local", ".claude/settings.local.json")),
    project_note=None,
)

# A user's settings.json with their own hooks, auth, MCP servers and odd but valid
# formatting (4-space indent, an escaped slash, a unicode escape) that must survive.
GEMINI_USER_TEXT = """{
    "security": {"auth": {"selectedType": "gemini-api-key"}},
    "general": {"vimMode": true},
    "mcpServers": {"docs": {"httpUrl": "https:\\/\\/example.invalid\\/mcp"}},
    "ui": {"theme": "caf\\u00e9"},
    "hooks": {
        "BeforeTool": [
            {"matcher": "write_file|replace",
             "hooks": [{"name": "guard", "type": "command",
                        "command": "/usr/local/bin/guard.sh", "timeout": 5000}]}
        ]
    }
}
"""

GEMINI = SettingsAgent(
    target="gemini",
    name="Gemini CLI",
    install=gemini_install,
    user_text=GEMINI_USER_TEXT,
    kept_as_written=("\\/\\/example.invalid", '"caf\\u00e9"'),  # escapes, not characters
    global_settings=lambda homes: homes["home"] / ".gemini" / "settings.json",
    binary="gemini",
    version_output="0.61.0",
    version="0.61.0",
    switches_off=(
        ({"hooksConfig": {"enabled": False}}, "hooksConfig.enabled"),
        ({"hooksConfig": {"disabled": ["staso"]}}, "hooksConfig.disabled"),
    ),
    scopes=(("project", ".gemini/settings.json"),),
    project_note="trusted folder",
)

AGENTS = (CLAUDE_CODE, GEMINI)
