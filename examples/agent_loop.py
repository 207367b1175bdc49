"""A tiny agent loop traced with staso_otel: a scripted stand-in model, real shell tools.

No network and no model account: the "model" is a script that asks for two shell commands
and then answers. Every turn, model call and tool call is sent over OTLP/HTTP to
`--endpoint` (default: `staso collector` on http://127.0.0.1:4318).

    staso collector &                 # in another terminal, or any OTLP/HTTP collector
    python examples/agent_loop.py "what is in this folder?"
    staso traces --last 1
"""

from __future__ import annotations

import argparse
import subprocess
import uuid

import staso_otel
from staso_otel import semconv

SCRIPT = [
    {"tool": "run_shell", "arguments": {"command": "ls -1 | head -5"}},
    {"tool": "run_shell", "arguments": {"command": "echo done; exit 0"}},
    {"answer": "I listed the folder and checked that the shell works."},
]


def scripted_model(step: int) -> dict:
    """Stands in for a model: returns the next scripted action and made-up token counts."""
    action = SCRIPT[min(step, len(SCRIPT) - 1)]
    return {**action, "usage": {"input_tokens": 500 + 120 * step, "output_tokens": 30 + step}}


@staso_otel.tool(category=semconv.CATEGORY_SHELL)
def run_shell(command: str) -> dict:
    proc = subprocess.run(["/bin/sh", "-c", command], capture_output=True, text=True, timeout=30)
    return {"exit_code": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr}


def run_turn(prompt: str, session_id: str) -> str:
    with staso_otel.turn(prompt, session_id=session_id, model="scripted-1") as turn:
        for step in range(len(SCRIPT)):
            with staso_otel.llm_call("scripted-1", input_messages=prompt) as call:
                action = scripted_model(step)
                call.set_usage(**action["usage"])
                call.set_response(action.get("answer") or action)
            if "answer" in action:
                turn.set_response(action["answer"])
                return action["answer"]
            run_shell(**action["arguments"])
    return ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("prompt", nargs="?", default="what is in this folder?")
    parser.add_argument("--endpoint", default="http://127.0.0.1:4318")
    parser.add_argument("--turns", type=int, default=1)
    args = parser.parse_args()
    provider = staso_otel.configure(
        agent="example-agent", provider="scripted", endpoint=args.endpoint
    )
    session_id = str(uuid.uuid4())
    for _ in range(args.turns):
        print(run_turn(args.prompt, session_id))
    provider.shutdown()  # flush the batch processor before exiting


if __name__ == "__main__":
    main()
