"""Make the backend pictures in docs/: recorded sessions exported by staso, as each shows them.

Starts the backend on loopback (its own venv under .cache/, see tests/loopback_service.py),
replays a recorded Codex session and a Claude Code session with a background sub-agent
through the real hook runtime and worker into it, and takes pictures with Debian's headless
Chromium (`apt-get install chromium`):

    .venv/bin/python docs/screenshots.py phoenix   # phoenix-codex.png, phoenix-claude-code.png,
                                                   # phoenix-llm-messages.png
    .venv/bin/python docs/screenshots.py mlflow    # mlflow-codex.png
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from mlflow_env import EXPERIMENT_HEADER, MLflow  # noqa: E402
from phoenix_env import Phoenix  # noqa: E402

PROJECT = "staso"
RECORDINGS = {
    "codex": ROOT / "tests/fixtures/codex/tour_resume",
    "claude-code": ROOT / "tests/fixtures/claude-code/agent",
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
    "--virtual-time-budget=20000",
]


def shoot(chromium: str, url: str, name: str, profile: Path) -> None:
    subprocess.run(
        [
            chromium,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            f"--screenshot={ROOT / 'docs' / name}",
            url,
        ],
        check=True,
        timeout=180,
        capture_output=True,
    )
    print(f"docs/{name}: {url}")


def export(tmp: str, overrides: dict) -> dict[str, str]:
    """Replay the recordings into a scratch STASO_HOME, drain to the backend; the session
    id of each target."""
    os.environ["STASO_HOME"] = f"{tmp}/staso"
    os.environ["STASO_NO_WORKER"] = "1"
    from staso_otel import settings
    from staso_otel.local import replay
    from staso_otel.pipeline import worker

    sessions = {}
    for n, (target, recording) in enumerate(RECORDINGS.items()):
        replay.replay(recording, Path(tmp) / f"h{n}", target=target)
        first = (recording / "hooks.jsonl").read_text().splitlines()[0]
        sessions[target] = json.loads(first)["payload"]["session_id"]
    conf = settings.load(overrides={"export_timeout": 60.0, **overrides})
    for _ in range(5):
        report = worker.drain(settings=conf)
        print(report)
        if report.spans_left == 0:
            break
    return sessions


def phoenix(chromium: str, tmp: str) -> None:
    server = Phoenix().start()
    try:
        sessions = export(tmp, {"endpoint": server.endpoint, "project_name": PROJECT})
        time.sleep(5)  # Phoenix ingests asynchronously
        project = next(p for p in server.get("/v1/projects")["data"] if p["name"] == PROJECT)
        found = server.get(f"/v1/projects/{PROJECT}/sessions")["data"]
        base = f"{server.base_url}/projects/{project['id']}/traces"
        first_trace = {}
        shots = (("codex", "phoenix-codex.png"), ("claude-code", "phoenix-claude-code.png"))
        for target, name in shots:
            session = next(s for s in found if s["session_id"] == sessions[target])
            first_trace[target] = min(session["traces"], key=lambda t: t["start_time"])["trace_id"]
            shoot(chromium, f"{base}/{first_trace[target]}", name, Path(tmp) / f"c-{target}")
        spans = server.get(f"/v1/projects/{PROJECT}/spans?limit=1000")["data"]
        llm = sorted(
            (
                s
                for s in spans
                if s["span_kind"] == "LLM" and s["context"]["trace_id"] == first_trace["codex"]
            ),
            key=lambda s: s["start_time"],
        )[1]  # the second call: it answers the first call's tool call
        url = f"{base}/{first_trace['codex']}?selectedSpanNodeId={llm['id']}"
        shoot(chromium, url, "phoenix-llm-messages.png", Path(tmp) / "c-llm")
    finally:
        server.stop()


def mlflow(chromium: str, tmp: str) -> None:
    server = MLflow().start()
    try:
        experiment = server.experiment("coding-agents")
        headers = {EXPERIMENT_HEADER: experiment}
        sessions = export(tmp, {"endpoint": server.endpoint, "headers": headers})
        traces = server.traces(experiment)
        codex = sorted(
            (t for t in traces if t["metadata"].get("mlflow.trace.session") == sessions["codex"]),
            key=lambda t: min(s["name"] for s in t["spans"]),
        )
        trace_id = codex[0]["trace_id"]
        url = f"{server.base_url}/#/experiments/{experiment}/traces?selectedEvaluationId={trace_id}"
        shoot(chromium, url, "mlflow-codex.png", Path(tmp) / "c-mlflow")
    finally:
        server.stop()


def main() -> int:
    chromium = shutil.which("chromium")
    if not chromium:
        print("needs Debian's chromium: apt-get install -y chromium", file=sys.stderr)
        return 1
    which = sys.argv[1:] or ["phoenix", "mlflow"]
    with tempfile.TemporaryDirectory(prefix="staso-shot-") as tmp:
        for name in which:
            {"phoenix": phoenix, "mlflow": mlflow}[name](chromium, f"{tmp}/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
