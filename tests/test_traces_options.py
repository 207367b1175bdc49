"""`staso traces` options on a store with two agents' sessions whose turns interleave in
time, and output that is not a terminal (no wrapping at 80 columns)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
from click.testing import CliRunner
from staso_cli.main import cli

from staso_otel import paths
from staso_otel import semconv as sc
from staso_otel.local.store import Store

LONG_OUTPUT = "\n".join(f"line {n}" for n in range(30))
LONG_COMMAND = "echo " + "x" * 150


def turn(trace: str, session: str, target: str, start: int, *, failed: bool = False) -> list:
    root = {
        "trace_id": trace,
        "span_id": trace[:16],
        "parent_span_id": None,
        "name": f"invoke_agent {target}",
        "kind": "INTERNAL",
        "start_ns": start,
        "end_ns": start + 1_000_000,
        "status": "UNSET",
        "attributes": {
            sc.SESSION_ID: session,
            sc.STASO_TARGET: target,
            sc.OPENINFERENCE_SPAN_KIND: sc.OI_KIND_AGENT,
            sc.INPUT_VALUE: f"prompt of {trace}",
        },
    }
    tool = {
        "trace_id": trace,
        "span_id": trace[:14] + "ff",
        "parent_span_id": trace[:16],
        "name": "execute_tool exec_command",
        "kind": "INTERNAL",
        "start_ns": start + 10,
        "end_ns": start + 20,
        "status": "ERROR" if failed else "OK",
        "attributes": {
            sc.SESSION_ID: session,
            sc.STASO_TARGET: target,
            sc.OPENINFERENCE_SPAN_KIND: "TOOL",
            sc.STASO_TOOL_CATEGORY: sc.CATEGORY_SHELL,
            sc.STASO_SHELL_COMMAND: LONG_COMMAND,
            sc.STASO_SHELL_STDOUT: LONG_OUTPUT,
            sc.STASO_SHELL_EXIT_CODE: 3 if failed else 0,
        },
    }
    return [root, tool]


@pytest.fixture
def store(isolated_homes):
    s = Store(paths.store_file())
    # session A (codex) turns at t=1 and t=3, session B (claude-code) at t=2: interleaved
    s.add(turn("a1" * 16, "sess-A", "codex", 1_000_000_000))
    s.add(turn("b1" * 16, "sess-B", "claude-code", 2_000_000_000, failed=True))
    s.add(turn("a2" * 16, "sess-A", "codex", 3_000_000_000))
    s.close()


def traces(*args: str):
    return CliRunner().invoke(cli, ["traces", *args], catch_exceptions=False)


def prompts(output: str) -> list[str]:
    return re.findall(r"prompt of (\w\w)", output)


def test_turns_are_grouped_by_session_then_time(store):
    result = traces()
    assert result.exit_code == 0
    assert prompts(result.output) == ["a1", "a2", "b1"]
    assert result.output.count("session sess-A") == 1  # one header per session


def test_agent_and_errors_filters(store):
    assert prompts(traces("--agent", "codex").output) == ["a1", "a2"]
    assert prompts(traces("--agent", "claude-code").output) == ["b1"]
    assert prompts(traces("--errors").output) == ["b1"]
    assert prompts(traces("--session", "sess-A", "--last", "1").output) == ["a2"]


def test_full_shows_content_uncut(store):
    cut = traces("--session", "sess-B").output
    assert "line 29" not in cut and "more lines" in cut
    full = traces("--session", "sess-B", "--full").output
    assert "line 29" in full and "more lines" not in full


def test_json_follows_the_same_selection(store):
    result = traces("--json", "--errors")
    [line] = result.output.splitlines()
    assert {s["trace_id"] for s in json.loads(line)} == {"b1" * 16}


@pytest.mark.parametrize("bad", ["0", "-3"])
def test_last_must_be_positive(store, bad):
    result = CliRunner().invoke(cli, ["traces", "--last", bad])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "--last" in result.output and "x>=1" in result.output


def test_no_match_for_a_filter_is_one_line(store):
    result = traces("--agent", "codex", "--errors")
    assert result.exit_code == 1 and "no traces match" in result.output


def test_output_that_is_not_a_terminal_is_not_wrapped(store):
    proc = subprocess.run(
        [sys.executable, "-m", "staso_cli.entry", "traces", "--session", "sess-A"],
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if k != "COLUMNS"},
    )
    assert proc.returncode == 0, proc.stderr
    assert any(line.endswith(LONG_COMMAND) for line in proc.stdout.splitlines())


def test_demo_into_a_pipe_keeps_long_lines_whole(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "staso_cli.entry", "demo"],
        capture_output=True,
        text=True,
        timeout=300,
        env={
            **{k: v for k, v in os.environ.items() if k != "COLUMNS"},
            "STASO_HOME": str(tmp_path / "fresh"),
        },
    )
    assert proc.returncode == 0, proc.stderr
    assert max(len(line) for line in proc.stdout.splitlines()) > 80
