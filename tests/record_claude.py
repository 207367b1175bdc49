"""Record a Claude Code session from the real CLI into tests/fixtures/claude-code/<run>/.

    STASO_TEST_CACHE=/work/main/.cache python tests/record_claude.py 2.1.332 nest fan ...

Each run: a throwaway HOME (with the project in HOME/ws), tests/mock_anthropic.py on
127.0.0.1 as the model, and a hook on every event Claude Code knows (all 34 of 2.1.332)
that appends `{"t": receipt time, "payload": stdin JSON}` to hooks.jsonl and prints
nothing. Afterwards the transcripts (`projects/`), the stream-json output
(`claude_<i>.jsonl`) and the hook log are copied out with HOME rewritten to `/home/dev`,
the temp folder to `/home/dev/tmp` and the recorder's own folder to `/home/dev/capture`,
as the older recordings are. Not a test: it is how
the recordings the replay tests read were made, kept so they can be made again.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from e2e_claude import ClaudeSandbox, claude_binary, write_greet_skill
from mock_anthropic import MockAnthropic

EVENTS = [
    "PreToolUse",
    "PostToolUse",
    "PostToolUseFailure",
    "PostToolBatch",
    "Notification",
    "UserPromptSubmit",
    "UserPromptExpansion",
    "SessionStart",
    "SessionEnd",
    "Stop",
    "StopFailure",
    "SubagentStart",
    "SubagentStop",
    "PreCompact",
    "PostCompact",
    "PreModelSwitch",
    "PostModelSwitch",
    "PermissionRequest",
    "PermissionDenied",
    "Setup",
    "TeammateIdle",
    "TaskCreated",
    "TaskCompleted",
    "Elicitation",
    "ElicitationResult",
    "ConfigChange",
    "WorktreeCreate",
    "WorktreeRemove",
    "InstructionsLoaded",
    "CwdChanged",
    "FileChanged",
    "DirectoryAdded",
    "MessageDisplay",
    "PreSkillShellCommand",
]
MATCHED = {"PreToolUse", "PostToolUse", "PostToolUseFailure", "PermissionRequest"}
MATCHED |= {"PermissionDenied"}
RECORDED_HOME = "/home/dev"

LOGGER = """import json, sys, time
t = time.time()
raw = sys.stdin.read()
with open(sys.argv[1], "a") as fh:
    fh.write(json.dumps({"t": t, "payload": json.loads(raw)}) + "\\n")
"""

# run -> invocations; "@SID@" is the session id the first invocation printed
RUNS: dict[str, list[list[str]]] = {
    "nest": [["-p", "SCENARIO:nest delegate twice"]],
    "fan": [["-p", "SCENARIO:fan launch two helpers"]],
    "tasks": [["-p", "SCENARIO:tasks plan with tasks"]],
    "fork": [
        ["-p", "SCENARIO:hello say hello"],
        ["--resume", "@SID@", "--fork-session", "-p", "SCENARIO:hello again, in a fork"],
    ],
    "bg_bash": [["-p", "SCENARIO:bg run a background job"]],
    "api_error": [["-p", "SCENARIO:error this request fails"]],
    "skill": [["-p", "/greet"]],
}

# what a run needs besides its prompts: the Task* to-do tools are off in `-p` sessions
# with a first-party model unless asked for
RUN_ENV: dict[str, dict[str, str]] = {"tasks": {"CLAUDE_CODE_ENABLE_TODO_TOOLS": "1"}}


def record(version: str, run: str, out_root: Path) -> Path:
    tmp = Path(tempfile.mkdtemp(prefix="rec-claude-"))
    box_root = tmp / "box"
    home = box_root / "home"
    mock = MockAnthropic(str(home / "ws")).start()
    try:
        box = ClaudeSandbox(box_root, mock.base_url, version)
        workspace = home / "ws"
        workspace.mkdir(parents=True, exist_ok=True)
        log = tmp / "hooks.jsonl"
        logger = tmp / "logger.py"
        logger.write_text(LOGGER)
        hooks = {}
        for event in EVENTS:
            group: dict = {"hooks": [{"type": "command", "command": f"python3 {logger} {log}"}]}
            if event in MATCHED:
                group["matcher"] = "*"
            hooks[event] = [group]
        box.settings_file.parent.mkdir(parents=True, exist_ok=True)
        box.settings_file.write_text(json.dumps({"hooks": hooks}, indent=1))
        write_greet_skill(home)
        env = box.env(
            TMPDIR=str(tmp / "t"), CLAUDE_CODE_TMPDIR=str(tmp / "t"), **RUN_ENV.get(run, {})
        )
        (tmp / "t").mkdir()
        outputs, sid = [], None
        for spec in RUNS[run]:
            argv = [str(claude_binary(version)), *[a.replace("@SID@", sid or "") for a in spec]]
            argv += ["--output-format", "stream-json", "--verbose"]
            argv += ["--dangerously-skip-permissions"]
            proc = subprocess.run(
                argv,
                cwd=workspace,
                env=env,
                capture_output=True,
                text=True,
                timeout=240,
                stdin=subprocess.DEVNULL,
            )
            print(run, proc.returncode, proc.stderr[-500:], file=sys.stderr)
            outputs.append(proc.stdout)
            for line in proc.stdout.splitlines():
                if sid is None and line.startswith("{"):
                    sid = json.loads(line).get("session_id")
        time.sleep(1.0)  # hooks of the last exit may still be writing
        dest = out_root / run
        shutil.rmtree(dest, ignore_errors=True)
        (dest / "projects").mkdir(parents=True)

        def clean(text: str) -> str:
            slug = str(home).replace("/", "-").replace("_", "-").replace(".", "-")
            text = text.replace(str(tmp / "t"), RECORDED_HOME + "/tmp")
            text = text.replace(str(home), RECORDED_HOME)
            text = text.replace(str(tmp), RECORDED_HOME + "/capture")
            return text.replace(slug, "-home-dev")

        for src in sorted((home / ".claude" / "projects").rglob("*")):
            rel = clean(str(src.relative_to(home / ".claude" / "projects")))
            if src.is_file():
                (dest / "projects" / rel).parent.mkdir(parents=True, exist_ok=True)
                (dest / "projects" / rel).write_text(clean(src.read_text()))
        (dest / "hooks.jsonl").write_text(clean(log.read_text()) if log.exists() else "")
        for i, text in enumerate(outputs):
            (dest / f"claude_{i}.jsonl").write_text(clean(text))
        (dest / "requests.jsonl").write_text(
            "".join(clean(json.dumps(b)) + "\n" for b in mock.requests)
        )
        return dest
    finally:
        mock.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    out = Path(os.environ.get("RECORD_OUT") or Path(__file__).parent / "fixtures" / "claude-code")
    for name in sys.argv[2:]:
        print(record(sys.argv[1], name, out))
