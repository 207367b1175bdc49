"""Record a real Gemini CLI session against tests/mock_gemini.py as a replay fixture.

    STASO_TEST_CACHE=/work/main/.cache .venv/bin/python tests/recorder/record_gemini.py \\
        --version 0.61.0 --name work-0.61.0 --prompt 'SCENARIO:work go' \\
        --resume 'SCENARIO:more show the notes'

runs `gemini -p <prompt> --yolo --skip-trust -o json` (then `--resume latest -p` for each
--resume prompt) in a throwaway HOME whose settings.json sends every one of the CLI's
eleven hook events to gemini_hook_logger.py, and writes tests/fixtures/gemini/<name>/:
hooks.jsonl (receipt time in s + payload, in arrival order), tmp/ (the CLI's
~/.gemini/tmp: the session transcripts), settings.json (what the CLI was given),
answers.json (what the mock answered, with the token counts it reported) and output_<i>.json
(the CLI's own JSON report). Paths are rewritten to /home/dev and /home/dev/project.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from e2e_gemini import AUTH, GeminiSandbox  # noqa: E402
from mock_gemini import MockGemini  # noqa: E402

FIXTURES = HERE.parent / "fixtures" / "gemini"
HOME_AS = "/home/dev"
WORKSPACE_AS = "/home/dev/project"
# every event the CLI has, not only those staso subscribes: the recording shows them all
EVENTS = (
    "SessionStart", "BeforeAgent", "BeforeModel", "BeforeToolSelection", "AfterModel",
    "BeforeTool", "AfterTool", "Notification", "PreCompress", "AfterAgent", "SessionEnd",
)  # fmt: skip


def _rewrite(text: str, box: GeminiSandbox) -> str:
    return text.replace(str(box.workspace), WORKSPACE_AS).replace(str(box.home), HOME_AS)


def record(args: argparse.Namespace) -> Path:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "rec"
        mock = MockGemini(str(root / "workspace")).start()
        try:
            box = GeminiSandbox(root, mock.base_url, version=args.version)
            log = Path(tmp) / "hooks.jsonl"
            command = f"{sys.executable} {HERE / 'gemini_hook_logger.py'}"
            hooks = {e: [{"hooks": [{"type": "command", "command": command}]}] for e in EVENTS}
            box.settings_file.write_text(json.dumps(AUTH | {"hooks": hooks}, indent=2) + "\n")
            env = box.env(HOOK_LOG=str(log))
            outputs = [box.run("-p", args.prompt, env=env)]
            for prompt in args.resume:
                outputs.append(box.run("--resume", "latest", "-p", prompt, env=env))
        finally:
            mock.stop()
        out = FIXTURES / args.name
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        lines = []
        for line in log.read_text().splitlines():
            data = json.loads(line)
            lines.append(json.dumps({"t": data["t"], "payload": data["payload"]}))
        (out / "hooks.jsonl").write_text(_rewrite("\n".join(lines) + "\n", box))
        tmp_root = box.home / ".gemini" / "tmp"
        for src in box.transcripts():
            dst = out / "tmp" / src.relative_to(tmp_root)
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.write_text(_rewrite(src.read_text(), box))
        settings = _rewrite(box.settings_file.read_text(), box).replace(sys.executable, "python3")
        (out / "settings.json").write_text(settings.replace(str(HERE), "tests/recorder"))
        (out / "answers.json").write_text(_rewrite(json.dumps(mock.answers, indent=1), box) + "\n")
        for i, report in enumerate(outputs):
            text = json.dumps(report, indent=1) + "\n"
            (out / f"output_{i}.json").write_text(_rewrite(text, box))
        return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--version", required=True, help="Gemini CLI release, e.g. 0.61.0")
    ap.add_argument("--name", required=True, help="fixture folder name")
    ap.add_argument("--prompt", required=True, help="first prompt, with a SCENARIO: marker")
    ap.add_argument("--resume", action="append", default=[], help="a later turn's prompt")
    print(record(ap.parse_args()))


if __name__ == "__main__":
    main()
