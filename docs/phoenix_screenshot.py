"""Make docs/phoenix-*.png: recorded sessions exported by staso, as Phoenix shows them.

Starts Phoenix on loopback (tests/phoenix_env.py: its own venv under .cache/), replays a
recorded Codex session and a Claude Code session with a background sub-agent through the
real hook runtime and worker into it, then takes each first turn's trace view with
Debian's headless Chromium (`apt-get install chromium`).

    .venv/bin/python docs/phoenix_screenshot.py
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from phoenix_env import Phoenix  # noqa: E402

PROJECT = "staso"
SHOTS = {
    "codex": ("phoenix-codex.png", ROOT / "tests/fixtures/codex/tour_resume"),
    "claude-code": ("phoenix-claude-code.png", ROOT / "tests/fixtures/claude-code/agent"),
}
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--window-size=1600,1000",
    "--virtual-time-budget=15000",
]


def main() -> int:
    chromium = shutil.which("chromium")
    if not chromium:
        print("needs Debian's chromium: apt-get install -y chromium", file=sys.stderr)
        return 1
    phoenix = Phoenix().start()
    try:
        with tempfile.TemporaryDirectory(prefix="staso-shot-") as tmp:
            os.environ["STASO_HOME"] = f"{tmp}/staso"
            os.environ["STASO_NO_WORKER"] = "1"
            from staso_otel import settings
            from staso_otel.export import worker
            from staso_otel.local import replay

            sessions = {}
            for n, (target, (_, recording)) in enumerate(SHOTS.items()):
                replay.replay(recording, Path(tmp) / f"h{n}", target=target)
                sessions[target] = replay_session(recording)
            conf = settings.load(overrides={"endpoint": phoenix.endpoint, "project_name": PROJECT})
            print(worker.drain(settings=conf))
            time.sleep(2)  # Phoenix ingests asynchronously
            project = next(p for p in phoenix.get("/v1/projects")["data"] if p["name"] == PROJECT)
            found = phoenix.get(f"/v1/projects/{PROJECT}/sessions")["data"]
            for target, (name, _) in SHOTS.items():
                session = next(s for s in found if s["session_id"] == sessions[target])
                trace = min(session["traces"], key=lambda t: t["start_time"])["trace_id"]
                url = f"{phoenix.base_url}/projects/{project['id']}/traces/{trace}"
                subprocess.run(
                    [
                        chromium,
                        *CHROMIUM_FLAGS,
                        f"--user-data-dir={tmp}/chromium-{target}",
                        f"--screenshot={ROOT / 'docs' / name}",
                        url,
                    ],
                    check=True,
                    timeout=120,
                    capture_output=True,
                )
                print(f"docs/{name}: {url}")
    finally:
        phoenix.stop()
    return 0


def replay_session(recording: Path) -> str:
    import json

    first = (recording / "hooks.jsonl").read_text().splitlines()[0]
    return json.loads(first)["payload"]["session_id"]


if __name__ == "__main__":
    sys.exit(main())
