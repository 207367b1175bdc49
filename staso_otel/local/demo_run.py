"""The demo's steps: scratch homes, replay, drain over real OTLP/HTTP, import, show. [local]

Two recordings are replayed through the hooks, as live tracing sees them; the third is
written as a session that ran without staso leaves it (its transcripts only) and
`staso import` rebuilds it, reading the live ones' transcripts too and sending none of
their turns twice.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console

from staso_otel import paths, settings
from staso_otel.local import replay, viewer
from staso_otel.local.collector import Collector
from staso_otel.local.store import Store


@contextmanager
def _scratch_home(path: Path) -> Iterator[None]:
    """Journals, state and spool of the demo live in a scratch STASO_HOME, so the user's
    profile and endpoint are never used."""
    old = os.environ.get("STASO_HOME")
    os.environ["STASO_HOME"] = str(path)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("STASO_HOME", None)
        else:
            os.environ["STASO_HOME"] = old


def recordings() -> list[tuple[str, Path]]:
    """The shipped recordings: one Codex session, two Claude Code sessions."""
    return [("codex", replay.DEMO_SESSION)] + [
        ("claude-code", path) for path in replay.DEMO_CLAUDE_SESSIONS
    ]


# shown as a session that ran before staso was set up: imported, not replayed
WITHOUT_HOOKS = replay.DEMO_CLAUDE_SESSIONS[-1]


def run_demo(console: Console, sessions: list[tuple[str, Path]] | None = None) -> int:
    """Returns the number of spans the collector received."""
    from staso_otel.pipeline import worker

    sessions = recordings() if sessions is None else sessions
    store = Store(paths.store_file())  # the user's local store: `staso traces` shows it after
    collector = Collector(store, port=0).start()
    try:
        with (
            tempfile.TemporaryDirectory(prefix="staso-demo-") as tmp,
            _scratch_home(Path(tmp) / "staso"),
        ):
            folders = []
            for n, (target, recording) in enumerate(sessions):
                home = Path(tmp) / f"home-{n}"
                home.mkdir()
                if recording == WITHOUT_HOOKS:
                    folders.append(replay.without_hooks(recording, home, target=target))
                    console.print(
                        f"wrote the transcripts of a recorded {_AGENTS[target]} session "
                        "that ran without staso's hooks"
                    )
                    continue
                count = replay.replay(recording, home, target=target)
                folders.append(home / replay.AGENT_FILES[target][1])
                console.print(
                    f"replayed {count} hook events of a recorded {_AGENTS[target]} session "
                    f"through `staso hook {target}`"
                )
            demo_settings = settings.load(
                overrides={"endpoint": collector.endpoint},
                env={"STASO_HOME": os.environ["STASO_HOME"]},
            )
            report = worker.drain(settings=demo_settings)
            console.print(
                f"exported {report.spans_sent} spans over OTLP/HTTP to {collector.endpoint}"
            )
            _import(console, folders, demo_settings)
    finally:
        collector.stop()
    order = {_session_of(recording): n for n, (_, recording) in enumerate(sessions)}

    def session(trace: list[dict]) -> int | None:
        return next(
            (
                order[s["attributes"]["session.id"]]
                for s in trace
                if s["attributes"].get("session.id") in order
            ),
            None,
        )

    traces = [store.trace(t) for t in store.trace_ids(last=None)]
    mine = [t for t in traces if session(t) is not None]
    mine.sort(key=lambda t: (session(t), min(s["start_ns"] for s in t)))
    viewer.render(console, mine)
    console.print("stored in " + str(paths.store_file()) + "; see it again: staso traces")
    return collector.received


_AGENTS = {"codex": "Codex", "claude-code": "Claude Code"}


def _import(console: Console, folders: list[Path], demo_settings: settings.Settings) -> None:
    """`staso import` over every session's transcripts, into the same home: what ran
    without hooks is rebuilt and sent, what was traced live is not sent again."""
    from staso_otel.backfill import run, sources

    found = sources.find(sources.TARGETS, [f for f in folders if f.is_dir()])
    report = run.run(found, settings=demo_settings, home=Path(os.environ["STASO_HOME"]))
    if report.errors or report.spans_left:
        raise RuntimeError(report.errors[0] if report.errors else "import: spans left unsent")
    console.print(
        f"`staso import` read {report.sessions} sessions' transcripts: sent {report.spans_sent} "
        f"spans rebuilt from them alone; {report.already} turns and sub-agent runs traced "
        "live above were exported already and not sent again\n"
    )


def _session_of(recording: Path) -> str:
    import json

    first = (recording / "hooks.jsonl").read_text().splitlines()[0]
    return json.loads(first)["payload"]["session_id"]
