"""Record a real Codex session against tests/mock_responses.py as a replay fixture.

    STASO_TEST_CACHE=/work/main/.cache .venv/bin/python tests/recorder/record_codex.py \\
        --version 0.171.0 --name compact-0.171.0 --scenario compact \\
        --toml 'model_auto_compact_token_limit = 50000'

runs `codex exec --json` (then `codex exec resume` for each --resume prompt) in a throwaway
CODEX_HOME whose hooks.json sends every event to codex_hook_logger.py, and writes
tests/fixtures/codex/<name>/ in the layout of the shared recordings: hooks.jsonl (receipt
time + payload), sessions/ (the rollouts), hooks.json, config.toml, exec_<i>.jsonl.
Paths are rewritten to /home/dev/.codex and /home/dev/project as in those recordings.
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

from e2e_codex import CodexSandbox  # noqa: E402
from mock_responses import MockResponses  # noqa: E402

from staso_otel.targets.codex.install import ALL_EVENTS  # noqa: E402

FIXTURES = HERE.parent / "fixtures" / "codex"
HOME_AS = "/home/dev/.codex"
WORKSPACE_AS = "/home/dev/project"


def _rewrite(text: str, sandbox: CodexSandbox) -> str:
    return text.replace(str(sandbox.codex_home), HOME_AS).replace(
        str(sandbox.workspace), WORKSPACE_AS
    )


def record(args: argparse.Namespace) -> Path:
    mock = MockResponses().start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            sandbox = CodexSandbox(Path(tmp) / "rec", mock.base_url, version=args.version)
            log = Path(tmp) / "hooks.jsonl"
            command = f"{sys.executable} {HERE / 'codex_hook_logger.py'}"
            sandbox.write_hooks(command)
            if args.toml:
                config = sandbox.codex_home / "config.toml"
                head, sep, tail = config.read_text().partition("\n[")
                config.write_text(head + "\n" + "\n".join(args.toml) + "\n" + sep + tail)
            env = sandbox.env(HOOK_LOG=str(log))
            if args.block:
                env["HOOK_BLOCK"] = args.block
            if args.deny:
                env["HOOK_DENY"] = args.deny
            flags = ["--dangerously-bypass-hook-trust", *args.codex_arg]
            bypass = not args.keep_approvals
            thread, stream = sandbox.exec(args.prompt, *flags, env=env, bypass=bypass)
            streams = [stream]
            for prompt in args.resume:
                _, stream = sandbox.exec(prompt, *flags, resume=thread, env=env, bypass=bypass)
                streams.append(stream)
            out = FIXTURES / args.name
            if out.exists():
                shutil.rmtree(out)
            out.mkdir(parents=True)
            (out / "hooks.jsonl").write_text(_rewrite(log.read_text(), sandbox))
            for src in sorted((sandbox.codex_home / "sessions").rglob("*.jsonl")):
                dst = out / "sessions" / src.relative_to(sandbox.codex_home / "sessions")
                dst.parent.mkdir(parents=True, exist_ok=True)
                dst.write_text(_rewrite(src.read_text(), sandbox))
            for name in ("hooks.json", "config.toml"):
                text = (sandbox.codex_home / name).read_text()
                (out / name).write_text(_rewrite(text, sandbox).replace(mock.base_url, "MOCK"))
            for i, stream in enumerate(streams):
                lines = "".join(json.dumps(e) + "\n" for e in stream)
                (out / f"exec_{i}.jsonl").write_text(_rewrite(lines, sandbox))
            (out / "request_kinds.json").write_text(json.dumps(mock.kinds) + "\n")
            return out
    finally:
        mock.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--version", required=True, help="Codex release, e.g. 0.171.0")
    ap.add_argument("--name", required=True, help="fixture folder name")
    ap.add_argument("--scenario", required=True, help="a MockResponses scenario")
    ap.add_argument("--prompt", help="first prompt (default: SCENARIO:<scenario> go)")
    ap.add_argument("--resume", action="append", default=[], help="a later turn's prompt")
    ap.add_argument("--toml", action="append", default=[], help="a top-level config line")
    ap.add_argument("--block", help="PreToolUse inputs containing this are blocked (exit 2)")
    ap.add_argument("--deny", help="answer every PermissionRequest with this denial")
    ap.add_argument(
        "--keep-approvals", action="store_true", help="no --dangerously-bypass-approvals..."
    )
    ap.add_argument("--codex-arg", action="append", default=[], help="extra `codex exec` flag")
    args = ap.parse_args()
    args.prompt = args.prompt or f"SCENARIO:{args.scenario} go"
    assert set(ALL_EVENTS)
    print(record(args))


if __name__ == "__main__":
    main()
