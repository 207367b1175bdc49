"""Trace an agent on the Anthropic Messages API, streamed, with one line.

`staso_otel.instrument_anthropic()` makes every `messages.create` / `messages.stream` call a
`chat {model}` span (messages, usage with cache reads and writes, stop reason). The model
may call `run_shell`; the loop runs it and sends the result back until the model answers.
Needs the Anthropic SDK: `pip install 'staso[anthropic]'`.

    export ANTHROPIC_API_KEY=sk-ant-...        # ANTHROPIC_BASE_URL for another server
    python examples/anthropic_agent.py "how many files are here?" --endpoint http://127.0.0.1:4318
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import uuid

import staso_otel
from staso_otel import semconv

TOOLS = [
    {
        "name": "run_shell",
        "description": "Run a shell command and return its output and exit code.",
        "input_schema": {
            "type": "object",
            "properties": {"command": {"type": "string"}},
            "required": ["command"],
        },
    }
]


@staso_otel.tool(category=semconv.CATEGORY_SHELL)
def run_shell(command: str) -> dict:
    proc = subprocess.run(["/bin/sh", "-c", command], capture_output=True, text=True, timeout=60)
    return {"exit_code": proc.returncode, "stdout": proc.stdout[-4000:]}


def agent(client, prompt: str, model: str, max_steps: int = 8) -> str:
    messages: list = [{"role": "user", "content": prompt}]
    with staso_otel.turn(prompt, session_id=str(uuid.uuid4()), model=model) as turn:
        for _ in range(max_steps):
            with client.messages.stream(
                model=model, max_tokens=1024, messages=messages, tools=TOOLS
            ) as stream:
                for text in stream.text_stream:
                    print(text, end="", flush=True)
                reply = stream.get_final_message()
            print()
            messages.append({"role": "assistant", "content": reply.content})
            uses = [b for b in reply.content if b.type == "tool_use"]
            if not uses:
                answer = "".join(b.text for b in reply.content if b.type == "text")
                turn.set_response(answer)
                return answer
            results = [
                {
                    "type": "tool_result",
                    "tool_use_id": u.id,
                    "content": json.dumps(run_shell(**u.input)),
                }
                for u in uses
            ]
            messages.append({"role": "user", "content": results})
    return ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("prompt")
    parser.add_argument("--model", default=os.environ.get("ANTHROPIC_MODEL", "claude-sonnet-4-5"))
    parser.add_argument("--endpoint", default="http://127.0.0.1:4318")
    args = parser.parse_args()
    if not os.environ.get("ANTHROPIC_API_KEY"):
        raise SystemExit("set ANTHROPIC_API_KEY (and ANTHROPIC_BASE_URL for another server)")
    try:
        import anthropic
    except ImportError:
        raise SystemExit(
            "this example needs the Anthropic SDK: pip install 'staso[anthropic]'"
        ) from None
    provider = staso_otel.configure(
        agent="claude-agent", provider="anthropic", endpoint=args.endpoint
    )
    staso_otel.instrument_anthropic()
    agent(anthropic.Anthropic(), args.prompt, args.model)
    provider.shutdown()


if __name__ == "__main__":
    main()
