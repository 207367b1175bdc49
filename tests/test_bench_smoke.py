"""The benchmarks run (tiny sizes) so they cannot rot; their timings are not judged here.

Timing targets are checked by the full runs on a quiet machine (docs/PERFORMANCE.md);
a tiny CI run is too noisy for that, but a lost span is a failure at any size.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"


def run(*args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STASO_")}
    proc = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=600, env=env
    )
    assert proc.returncode in (0, 1), proc.stderr[-3000:]  # 1: a timing target missed
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    return proc.stdout


def test_hook_benchmark_covers_both_agents_and_all_collector_states():
    out = run(str(BENCH / "bench_hook.py"), "--rounds", "2")
    for target in ("codex", "claude-code"):
        for state in ("up", "down", "hanging"):
            assert f"{target:12} collector {state}" in out
    assert "worst hook ratio" in out


def test_transcript_benchmark_reports_each_size():
    out = run(str(BENCH / "bench_transcript.py"), "--sizes", "0.1,0.5", "--runs", "3")
    assert out.count("ratio to 0.1 MB") == 4


def test_pipeline_benchmark_loses_no_span():
    out = run(str(BENCH / "bench_pipeline.py"), "--quick")
    for section in ("throughput", "latency", "memory", "concurrency"):
        assert out.count(section) >= 1, out
    assert "lost 0" in out and "missing 0" in out
    assert "spans lost" not in out


def test_backlog_benchmark_loses_no_span_for_either_agent():
    out = run(str(BENCH / "bench_backlog.py"), "--mb", "0.1,0.5", "--runs", "1")
    for target in ("codex", "claude-code"):
        assert out.count(f"{target:12} backlog") == 2, out
    assert "spans differ" not in out, out


def test_worker_benchmark_sends_nothing_twice_and_every_span_arrives():
    out = run(str(BENCH / "bench_worker.py"), "--sessions", "2", "--runs", "1")
    assert "idle start" in out and "spans sent again 0" in out, out
    assert "throughput  32 spans" in out, out  # _until_all raises unless all 32 arrived


def test_library_span_benchmark_runs():
    out = run(str(BENCH / "bench_api.py"), "--turns", "5", "--blocks", "1")
    # the row of each mode, whatever the ratio (a MISSED line only comes when it is low)
    for mode in ("memory", "receiver"):
        assert f"{mode:8}  library turn + llm_call + tool_call:" in out, out
    assert "spans/s vs raw tracer" in out, out


def test_instrument_benchmark_reports_every_case():
    out = run(str(BENCH / "bench_instrument.py"), "--calls", "3", "--blocks", "1")
    for case in ("openai chat.completions", "anthropic messages.stream()"):
        assert f"{case:36} instrumented" in out, out
    assert "worst" in out


def test_redaction_benchmark_reports_every_kind_from_the_wheel():
    out = run(str(BENCH / "bench_redact.py"), "--quick")
    for kind in ("transcripts", "tool_output", "prose", "secrets"):
        assert out.count(kind) >= 1, out
    assert "wheel venv bench-redact-" in out and "ms/MB (CPU)" in out
    secrets_row = next(line for line in out.splitlines() if line.startswith("secrets"))
    assert int(secrets_row.split()[2]) > 0, out  # the corpus lines were found and replaced


def test_import_benchmark_reports_each_size_and_loses_no_span():
    args = ("--mb", "0.3,0.6", "--runs", "1", "--long-line-mb", "12")
    out = run(str(BENCH / "bench_import.py"), *args)
    rows = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert len(rows) == 3 and all("import_mb_per_s" in r for r in rows[:2]), out
    assert rows[2]["long_line_mb"] > 12 and rows[2]["spans"] > 0, out
    assert "reported but not received" not in out, out


def test_pair_benchmark_reports_both_workloads_a_a():
    for workload in ("library", "redact"):
        out = run(
            str(BENCH / "bench_pair.py"), "--workload", workload, "--rounds", "2", "--block", "2"
        )
        assert out.startswith(f"{workload}: this build "), out
        assert "itself (A/A)" in out and "paired time ratio" in out, out


def test_pair_benchmark_counts_instructions_of_a_library_turn():
    out = run(str(BENCH / "bench_pair.py"), "--instructions", "--block", "2")
    assert out.startswith("library: this build "), out
    counted = int(re.search(r"this build ([\d,]+) vs", out).group(1).replace(",", ""))  # type: ignore[union-attr]
    # a library turn is about a million instructions: a difference of the two runs that
    # went wrong (the warm-up counted, units miscounted) lands far from it
    assert 300_000 < counted < 5_000_000, out
