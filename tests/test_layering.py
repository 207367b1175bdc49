"""The hook path stays standard-library only: it runs inside the agent on every event."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ["opentelemetry", "click", "filelock", "orjson", "rich", "tomlkit", "requests"]


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


def test_span_stage_has_no_opentelemetry():
    loaded = _loaded_after("import staso_otel.span.build, staso_otel.span.redact")
    assert "opentelemetry" not in loaded
