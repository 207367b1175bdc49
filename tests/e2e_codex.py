"""Drive the real Codex CLI offline: install it from npm once, point it at a mock model.

`codex_binary(version)` installs `@openai/codex@<version>` into the test cache
(e2e_sandbox.py) and returns its path. CODEX_VERSIONS are the releases the end-to-end tests
run on: the one the recordings were made with and the current latest (keep run-tests.sh's
CODEX_VERSIONS and docs/compatibility.md in step).
`CodexSandbox` is a throwaway CODEX_HOME + HOME + workspace whose config.toml sends model
requests to `tests/mock_responses.py` on 127.0.0.1.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from e2e_sandbox import AgentSandbox, json_lines

from staso_otel.targets import hookfile
from staso_otel.targets.codex.install import ALL_EVENTS

ROOT = Path(__file__).resolve().parent.parent
CODEX_VERSIONS = ("0.169.0", "0.171.0")
CODEX_VERSION = CODEX_VERSIONS[0]  # the pinned release the recordings were made with
HOOK_COMMAND = hookfile.hook_command("codex")  # exactly what `staso setup` writes
# a user's own hook (block a command, block a Stop once): tests/recorder/codex_hook_logger.py
USER_HOOK = f"{sys.executable} {ROOT / 'tests' / 'recorder' / 'codex_hook_logger.py'}"


def codex_binary(version: str = CODEX_VERSION) -> Path:
    """The real codex binary of `version`, installed from the npm registry on first use."""
    return CodexSandbox.install(version)


@dataclass
class CodexSandbox(AgentSandbox):
    version: str = CODEX_VERSION

    package: ClassVar[str] = "@openai/codex"
    command: ClassVar[str] = "codex"
    cache_folder: ClassVar[str] = "codex"
    own_env_prefixes: ClassVar[tuple[str, ...]] = ("OPENAI_", "CODEX_")
    timeout_s: ClassVar[float] = 90

    def __post_init__(self) -> None:
        super().__post_init__()
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

    def folders(self) -> tuple[Path, ...]:
        return (self.codex_home, *super().folders())

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

    def agent_env(self) -> dict[str, str]:
        return {"CODEX_HOME": str(self.codex_home), "MOCK_API_KEY": "dummy-key"}

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
        argv = ["exec"]
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
        events = json_lines(self.run_cli(argv, env).stdout)
        thread = next(
            (e.get("thread_id") for e in events if e.get("type") == "thread.started"), None
        )
        return thread, events
