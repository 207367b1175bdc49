"""Run every benchmark and summarise: `.venv/bin/python benchmarks/run.py [--quick]`.

Each script prints its own table and exits 1 when it misses its target; this runner
runs them one after another (never in parallel: they measure the same two cores) and
ends with one line per script. `--quick` uses tiny sizes (the CI smoke test does), whose
timings mean nothing; only the full run's figures go into docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = {
    "bench_hook.py": (["--rounds", "40"], ["--rounds", "2"]),
    "bench_transcript.py": (["--sizes", "1,10,100"], ["--sizes", "0.1,0.5", "--runs", "3"]),
    "bench_pipeline.py": ([], ["--quick"]),
    "bench_backlog.py": (["--mb", "1,100"], ["--mb", "0.1,0.5", "--runs", "1"]),
    "bench_worker.py": ([], ["--sessions", "2", "--runs", "1"]),
    "bench_api.py": ([], ["--turns", "5", "--blocks", "1"]),
    "bench_instrument.py": ([], ["--calls", "3", "--blocks", "1"]),
    "bench_redact.py": ([], ["--quick"]),
    "bench_import.py": (
        ["--mb", "10,100"],
        ["--mb", "0.3,0.6", "--runs", "1", "--long-line-mb", "12"],
    ),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    summary = []
    for script, (full, quick) in SCRIPTS.items():
        start = time.monotonic()
        print(f"== {script}", flush=True)
        code = subprocess.call(
            [sys.executable, str(HERE / script), *(quick if args.quick else full)]
        )
        summary.append(
            f"{script:20} {'ok' if code == 0 else 'MISSED'}  {time.monotonic() - start:.0f} s"
        )
    print("\n".join(["", *summary]))
    return 0 if all(line.split()[1] == "ok" for line in summary) else 1


if __name__ == "__main__":
    sys.exit(main())
