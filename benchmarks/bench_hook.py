"""Hook cost per event against a bare `python -c pass` of the same interpreter, as users run it.

Runs in the wheel-installed venv of benchmarks/wheel_venv.py (`pip install .` into a venv
under `.cache/`, rebuilt when a source changes: the editable `.venv` runs a finder from its
`__editable__` .pth at every interpreter start, which slows the bare interpreter and
flatters every ratio). In that venv it runs `staso setup` for each agent
into throwaway homes and takes the hook command exactly as setup wrote it. Then, for each
agent and each collector state (up, down = connection refused, hanging), it runs through
`/bin/bash -c` (as both agents run hooks), interleaved for N rounds over the event types of
a recorded session:

- bare:     `<python> -c pass`
- hook:     the command setup wrote, the worker spawn check included (a worker runs)
- no-check: the same with STASO_NO_WORKER=1, so hook - no-check = the spawn check
- legacy:   `<python> -m staso_otel.hook <agent>` (what earlier releases wrote; `staso sync`
            replaces it)

and prints medians (wall and CPU time) and ratios to bare. It also prints what the editable
`.venv` costs, when there is one. Target: hook <= 1.25x bare; exits 1 if missed.

    .venv/bin/python benchmarks/bench_hook.py [--rounds 40] [--target codex|claude-code|gemini]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import wheel_venv  # noqa: E402
from otlp_receiver import Receiver  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures"
TARGET_RATIO = 1.25
# the recorded session and the event types measured, per target
TARGETS = {
    "codex": (
        FIXTURES / "codex" / "tour_resume" / "hooks.jsonl",
        [
            "SessionStart",
            "UserPromptSubmit",
            "PreModelRequest",
            "PostModelRequest",
            "PreToolUse",
            "PostToolUse",
            "Stop",
        ],
    ),
    "claude-code": (
        FIXTURES / "claude-code" / "tour_resume" / "hooks.jsonl",
        [
            "SessionStart",
            "UserPromptSubmit",
            "PreToolUse",
            "PostToolUse",
            "PostToolUseFailure",
            "PostToolBatch",
            "Stop",
        ],
    ),
    "gemini": (
        FIXTURES / "gemini" / "work-0.61.0" / "hooks.jsonl",
        [
            "SessionStart",
            "BeforeAgent",
            "BeforeModel",
            "BeforeTool",
            "AfterTool",
            "AfterAgent",
            "SessionEnd",
        ],
    ),
}


# -- the hook as setup writes it ------------------------------------------------------
def setup_command(python: Path, target: str, endpoint: str) -> str:
    """Run the venv's `staso setup` into throwaway homes; return the command it wrote."""
    with tempfile.TemporaryDirectory(prefix="staso-bench-setup-") as tmp:
        env = {
            **os.environ,
            "HOME": tmp,
            "STASO_HOME": f"{tmp}/staso",
            "CODEX_HOME": f"{tmp}/codex",
            "CLAUDE_CONFIG_DIR": f"{tmp}/claude",
            "PATH": "/usr/bin:/bin",  # no agent CLI needed: setup writes every event
        }
        os.makedirs(env["CODEX_HOME"])
        subprocess.run(
            [str(python.parent / "staso"), "setup", "--target", target, "--endpoint", endpoint],
            env=env,
            check=True,
            capture_output=True,
            timeout=120,
        )
        written = Path(env["CODEX_HOME"], "hooks.json")
        if target == "claude-code":
            written = Path(env["CLAUDE_CONFIG_DIR"], "settings.json")
        elif target == "gemini":
            written = Path(tmp, ".gemini", "settings.json")
        hooks = json.loads(written.read_text())["hooks"]
    return hooks["SessionStart"][0]["hooks"][0]["command"]


# -- measuring -----------------------------------------------------------------------------
def payloads(target: str) -> dict[str, bytes]:
    fixture, events = TARGETS[target]
    found: dict[str, bytes] = {}
    for line in fixture.read_text().splitlines():
        payload = json.loads(line)["payload"]
        found.setdefault(payload["hook_event_name"], json.dumps(payload).encode())
    return {name: found[name] for name in events}


def timed(command: str, data: bytes, env: dict[str, str]) -> tuple[float, float]:
    """(wall ms, CPU ms) of `bash -c command` fed `data`, as an agent runs a hook."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        ["/bin/bash", "-c", command],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        proc.stdin.write(data)
        proc.stdin.close()
    except BrokenPipeError:
        pass  # `python -c pass` exits without reading its stdin
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = (time.perf_counter() - start) * 1000
    if proc.returncode != 0:
        raise SystemExit(f"{command!r} exited {proc.returncode}")
    return wall, (usage.ru_utime + usage.ru_stime) * 1000


def collector(state: str) -> tuple[Receiver | None, str]:
    if state == "up":
        receiver = Receiver().start()
        return receiver, receiver.endpoint
    if state == "hanging":
        receiver = Receiver(mode="hang", hang_s=60).start()
        return receiver, receiver.endpoint
    probe = Receiver().start()  # a port that was free a moment ago: refused
    endpoint = probe.endpoint
    probe.stop()
    return None, endpoint


def measure(python: Path, target: str, state: str, rounds: int, events: dict[str, bytes]) -> dict:
    receiver, endpoint = collector(state)
    home = tempfile.mkdtemp(prefix=f"staso-bench-{state}-")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("STASO_")},
        "STASO_HOME": home,
        "STASO_ENDPOINT": endpoint,
        "STASO_WORKER_IDLE_SECONDS": "2",
    }
    command = setup_command(python, target, endpoint)
    variants = {
        "bare": (f"{python} -c pass", env),
        "hook": (command, env),
        "no-check": (command, {**env, "STASO_NO_WORKER": "1"}),
        "legacy": (f"{python} -m staso_otel.hook {target}", env),
    }
    wall: dict[str, list[float]] = {k: [] for k in variants}
    cpu: dict[str, list[float]] = {k: [] for k in variants}
    per_event: dict[str, list[float]] = {e: [] for e in events}
    names = list(events)
    try:
        for i in range(rounds):
            event = names[i % len(names)]
            for name, (cmd, cmd_env) in variants.items():
                ms, cpu_ms = timed(cmd, events[event], cmd_env)
                wall[name].append(ms)
                cpu[name].append(cpu_ms)
                if name == "hook":
                    per_event[event].append(ms)
    finally:
        if receiver:
            receiver.mode = "ok"
            receiver.stop()
        shutil.rmtree(home, ignore_errors=True)
    bare = statistics.median(wall["bare"])
    bare_cpu = statistics.median(cpu["bare"])
    return {
        "target": target,
        "state": state,
        "rounds": rounds,
        "command": command,
        "median_ms": {k: round(statistics.median(v), 2) for k, v in wall.items()},
        "ratio": {k: round(statistics.median(v) / bare, 2) for k, v in wall.items()},
        "median_cpu_ms": {k: round(statistics.median(v), 2) for k, v in cpu.items()},
        "cpu_ratio": {k: round(statistics.median(v) / bare_cpu, 2) for k, v in cpu.items()},
        "per_event_ratio": {
            e: round(statistics.median(v) / bare, 2) for e, v in per_event.items() if v
        },
    }


def editable_cost(python: Path, rounds: int) -> dict | None:
    """Bare interpreter start of the editable `.venv` vs the wheel venv's (same Python)."""
    editable = ROOT / ".venv" / "bin" / "python"
    if not editable.exists():
        return None
    env = {k: v for k, v in os.environ.items() if not k.startswith("STASO_")}
    samples: dict[str, list[float]] = {"wheel": [], "editable": []}
    for _ in range(rounds):
        samples["wheel"].append(timed(f"{python} -c pass", b"", env)[0])
        samples["editable"].append(timed(f"{editable} -c pass", b"", env)[0])
    wheel = statistics.median(samples["wheel"])
    ed = statistics.median(samples["editable"])
    return {"wheel_ms": round(wheel, 2), "editable_ms": round(ed, 2), "ratio": round(ed / wheel, 2)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--target", choices=sorted(TARGETS), action="append")
    args = parser.parse_args()
    python = Path(wheel_venv.python())
    results = [
        measure(python, target, state, args.rounds, payloads(target))
        for target in args.target or list(TARGETS)
        for state in ("up", "down", "hanging")
    ]
    print(f"wheel venv {python.parent.parent}, via /bin/bash -c, {args.rounds} rounds, medians")
    for r in results:
        m, x, c = r["median_ms"], r["ratio"], r["cpu_ratio"]
        print(
            f"{r['target']:12} collector {r['state']:8} bare {m['bare']:5.1f} ms | "
            f"hook {m['hook']:5.1f} ms ({x['hook']}x, CPU {c['hook']}x) | "
            f"spawn check {m['hook'] - m['no-check']:+.1f} ms | "
            f"legacy -m {m['legacy']:5.1f} ms ({x['legacy']}x)"
        )
        print("   per event: " + ", ".join(f"{e} {v}x" for e, v in r["per_event_ratio"].items()))
    print(f"hook command (staso setup): {results[0]['command']}")
    editable = editable_cost(python, args.rounds)
    if editable:
        print(
            f"editable .venv: bare python {editable['editable_ms']} ms vs "
            f"{editable['wheel_ms']} ms in the wheel venv ({editable['ratio']}x): "
            "never measure the hook there"
        )
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / "hook.json").write_text(json.dumps({"runs": results, "editable": editable}, indent=2))
    worst = max(r["ratio"]["hook"] for r in results)
    print(f"worst hook ratio {worst}x (target <= {TARGET_RATIO}x)")
    if worst > TARGET_RATIO:
        sys.exit(1)


if __name__ == "__main__":
    main()
