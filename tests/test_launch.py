"""staso's own processes never import from the folder they start in (staso_otel/launch.py).

The worker starts in the folder the agent works in, and `python -m` puts that folder
first on sys.path: a project holding a `dataclasses.py`, `queue.py` or `json/` had its
file run by the worker, which then failed at its first import and exported nothing.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from clone_sessions import clone
from otlp_receiver import Receiver
from pipeline_helpers import run_setup_hook, worker_env

from staso_otel import cores, settings
from staso_otel.backfill import child, run, sources
from staso_otel.launch import module_argv

# Standard-library modules the worker and the import's child import after start-up
SHADOWED = ("dataclasses", "queue", "platform", "select", "struct")


def _project(folder: Path) -> Path:
    """A project folder whose files shadow standard-library modules: each one, if
    imported, leaves a mark and fails."""
    folder.mkdir(exist_ok=True)
    for name in SHADOWED:
        (folder / f"{name}.py").write_text(
            f"open({str(folder / 'IMPORTED')!r}, 'a').write({name!r} + '\\n')\n"
            f"raise ImportError('the project {name}.py')\n"
        )
    return folder


def _marks(folder: Path) -> list[str]:
    mark = folder / "IMPORTED"
    return mark.read_text().split() if mark.exists() else []


BOTH_WAYS = [True, False] if sys.version_info >= (3, 11) else [False]


@pytest.mark.parametrize("safe_path", BOTH_WAYS, ids=lambda s: "-P" if s else "bootstrap")
def test_a_module_runs_as_with_dash_m_without_the_folder_it_starts_in(tmp_path, safe_path):
    project = _project(tmp_path / "project")
    argv = [*module_argv("platform", safe_path=safe_path), "--terse"]
    ours = subprocess.run(argv, cwd=project, capture_output=True, text=True, timeout=60)
    assert ours.returncode == 0 and ours.stdout.strip(), ours.stderr
    assert _marks(project) == []
    # what `python -m` itself does there: the project's file, run
    plain = subprocess.run(
        [sys.executable, "-m", "platform", "--terse"], cwd=project, capture_output=True, timeout=60
    )
    assert plain.returncode != 0 and _marks(project) == ["platform"]
    elsewhere = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert ours.stdout.strip() == elsewhere.stdout.strip()  # as from any other folder


def test_the_hook_run_in_such_a_project_spawns_a_worker_that_exports(
    tmp_path, isolated_homes, receiver
):
    from replay import FIXTURES_CODEX, load_events

    project = _project(tmp_path / "project")
    events = load_events(FIXTURES_CODEX / "hello", isolated_homes["codex"])
    # as the agent runs its hooks: in the folder it works in
    run_setup_hook("codex", events, worker_env(receiver.endpoint), cwd=project)
    assert receiver.wait_for(lambda spans: len(spans) >= 2, timeout_s=60), _marks(project)
    assert sorted(s["name"] for s in receiver.spans) == ["chat gpt-6.1-sol", "invoke_agent codex"]
    assert _marks(project) == []


def test_the_worker_ignores_the_python_variables_of_the_agents_environment(
    tmp_path, isolated_homes, receiver
):
    """A PYTHONHOME meant for another Python stopped the worker before its first line; a
    PYTHONPATH with other versions of its modules shadowed them (the hook itself runs
    with -I, so it recorded every event all the same)."""
    from replay import FIXTURES_CODEX, load_events

    elsewhere = _project(tmp_path / "other-site-packages")
    (elsewhere / "orjson.py").write_text("raise ImportError('another orjson')\n")
    env = worker_env(
        receiver.endpoint,
        PYTHONHOME=str(tmp_path / "another-python"),
        PYTHONPATH=str(elsewhere),
    )
    run_setup_hook("codex", load_events(FIXTURES_CODEX / "hello", isolated_homes["codex"]), env)
    assert receiver.wait_for(lambda spans: len(spans) >= 2, timeout_s=60), _marks(elsewhere)
    assert _marks(elsewhere) == []


def test_the_import_run_in_such_a_project_rebuilds_in_its_child(
    tmp_path, isolated_homes, monkeypatch
):
    home = isolated_homes["home"]
    monkeypatch.setenv("CODEX_HOME", str(home / ".codex"))
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(home / ".claude"))
    for n in range(4):
        clone("codex", "tour_resume", home, n)
    monkeypatch.setattr(child, "MIN_BYTES", 0)
    monkeypatch.setattr(cores, "free", lambda: 2.0)
    answers: list[str] = []
    read = child.subproc.Helper.read

    def counted(helper, timeout_s):
        message = read(helper, timeout_s)
        answers.append(message[0] if isinstance(message, tuple) else repr(message))
        return message

    monkeypatch.setattr(child.subproc.Helper, "read", counted)
    project = _project(tmp_path / "project")
    monkeypatch.chdir(project)
    found = sources.find(sources.TARGETS)
    receiver = Receiver().start()
    try:
        st = settings.load(overrides={"endpoint": receiver.endpoint})
        report = run.run(found, settings=st, home=tmp_path / "h")
    finally:
        receiver.stop()
    assert not report.skipped and report.spans == len(receiver.spans) > 0
    assert "done" in answers, answers  # the child rebuilt sessions: it started and ran
    assert _marks(project) == []
