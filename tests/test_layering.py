"""The hook path stays standard-library only: it runs inside the agent on every event."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys

import pytest

from staso_otel.targets import hookfile

HEAVY = ["opentelemetry", "click", "filelock", "orjson", "rich", "tomlkit", "requests"]
HEAVY += ["openai", "anthropic", "httpx", "httpx2"]  # instrument_*() imports them when called


def _loaded_after(code: str) -> set[str]:
    probe = f"{code}\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    return {m.split(".")[0] for m in json.loads(proc.stdout.splitlines()[-1])}


def test_hook_imports_nothing_heavy():
    loaded = _loaded_after("import staso_otel.hook.main")
    assert not loaded & set(HEAVY)


def test_console_entry_routes_hook_before_click():
    loaded = _loaded_after("import staso_cli.entry")
    assert not loaded & set(HEAVY)


def test_importing_the_library_is_cheap():
    loaded = _loaded_after("import staso_otel")
    assert not loaded & set(HEAVY)


def test_the_library_imports_a_model_sdk_only_when_told_to_instrument_it():
    loaded = _loaded_after("import staso_otel.api, staso_otel.instrument, staso_otel.export.spool")
    assert not loaded & {"openai", "anthropic"}
    loaded = _loaded_after("import staso_otel; staso_otel.instrument_anthropic()")
    assert "anthropic" in loaded and "openai" not in loaded


def test_span_stage_has_no_opentelemetry():
    loaded = _loaded_after("import staso_otel.span.build, staso_otel.span.redact")
    assert "opentelemetry" not in loaded


def _imports_of(package: str) -> set[str]:
    """Every staso_otel module a package's source imports, read from its syntax tree
    (lazy imports inside functions included)."""
    import ast
    import pathlib

    root = pathlib.Path(__file__).resolve().parent.parent / "staso_otel" / package
    found: set[str] = set()
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
                found.update(f"{node.module}.{a.name}" for a in node.names)
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
    return {m for m in found if m.startswith("staso_otel.")}


def test_every_package_ships_in_the_wheel():
    """A package folder missing from pyproject's list installs nowhere but an editable
    checkout: the worker the hook spawns from a wheel could not import it."""
    import pathlib

    import tomlkit

    root = pathlib.Path(__file__).resolve().parent.parent
    config = tomlkit.parse((root / "pyproject.toml").read_text())
    listed = set(config["tool"]["setuptools"]["packages"])
    found = {
        ".".join(p.parent.relative_to(root).parts)
        for p in (root / "staso_otel").rglob("__init__.py")
    }
    assert found <= listed, sorted(found - listed)


def test_export_is_only_spool_and_sender():
    """export/ knows nothing of agents or of the orchestrator above it: data flows one way."""
    reached = _imports_of("export")
    assert not {m for m in reached if m.startswith(("staso_otel.targets", "staso_otel.pipeline"))}


def test_targets_do_not_reach_up_into_export_or_pipeline():
    reached = _imports_of("targets")
    assert not {m for m in reached if m.startswith(("staso_otel.export", "staso_otel.pipeline"))}


def test_the_turn_kernel_knows_no_agent():
    """One reducer and one assembler for every agent: where agents differ, the agent says
    so (its events, its Behaviour, its facts); the kernel never imports an agent's room
    nor names one."""
    import pathlib

    reached = _imports_of("turns")
    assert not {m for m in reached if m.startswith("staso_otel.targets")}
    root = pathlib.Path(__file__).resolve().parent.parent / "staso_otel" / "turns"
    for path in root.glob("*.py"):
        code = [line for line in path.read_text().splitlines() if not line.lstrip().startswith("#")]
        names = ("codex", "claude-code", "gemini")
        named = [line for line in code if any(f'"{a}"' in line for a in names)]
        assert not named, path


@pytest.mark.parametrize("target", ["codex", "claude-code", "gemini"])
def test_the_hook_as_setup_writes_it_loads_no_parser_no_site_no_runpy(target: str):
    """What the hook costs is what it imports: `json` pulls in `re` (more than the rest
    of the hook together), `site` runs every .pth file, `-m` adds runpy. The same one
    entry point for every agent."""
    words = shlex.split(hookfile.hook_command(target))
    proc = subprocess.run(
        [words[0], "-X", "importtime", *words[1:]],
        input=b'{"session_id":"s1","hook_event_name":"Stop"}',
        env={**os.environ, "STASO_NO_WORKER": "1"},
        capture_output=True,
        timeout=60,
        check=True,
    )
    loaded = {
        line.rsplit("|", 1)[-1].strip()
        for line in proc.stderr.decode().splitlines()
        if line.startswith("import time:")
    }
    assert "staso_otel.record.append" in loaded
    assert not loaded & {"json", "re", "site", "runpy", *HEAVY}


SENDER_FREE_OF = ("requests", "urllib3", "opentelemetry.sdk", "opentelemetry.exporter")
SENDER_FREE_OF += ("google.protobuf",)


@pytest.mark.parametrize(
    ("protocol", "compression"), [("http/protobuf", "gzip"), ("http/json", "none")]
)
def test_a_worker_sending_spans_loads_no_sdk_no_protobuf_no_requests(
    isolated_homes, protocol: str, compression: str
):
    """The worker encodes OTLP itself and posts it with http.client: a cold worker with
    spans to send pays for neither the SDK, its exporter, protobuf nor requests. Run as
    the hook spawns it, against the real receiver, which must get every span."""
    from otlp_receiver import Receiver
    from pipeline_helpers import record_fixture

    from staso_otel.hook import spawn

    rec = Receiver().start()
    try:
        record_fixture("tour_resume", isolated_homes["codex"])
        env = {
            **os.environ,
            "STASO_ENDPOINT": rec.endpoint,
            "STASO_WORKER_IDLE_SECONDS": "0.1",
            "STASO_PROTOCOL": protocol,
            "STASO_COMPRESSION": compression,
        }
        proc = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", spawn.WORKER_MODULE],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert len(rec.spans) == 16 and {s["scope"] for s in rec.spans} == {"staso"}
        sent = {
            (r["headers"]["Content-Type"], r["headers"].get("Content-Encoding"))
            for r in rec.requests
        }
        is_json = protocol == "http/json"
        assert sent == {
            (
                "application/json" if is_json else "application/x-protobuf",
                "gzip" if compression == "gzip" else None,
            )
        }
    finally:
        rec.stop()
    loaded = {
        line.rsplit("|", 1)[-1].strip()
        for line in proc.stderr.splitlines()
        if line.startswith("import time:")
    }
    heavy = sorted(m for m in loaded if m.startswith(SENDER_FREE_OF))
    assert not heavy, heavy
