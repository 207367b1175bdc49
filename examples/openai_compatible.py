"""Trace an agent that talks to any OpenAI-compatible Chat Completions endpoint.

One line traces every model call: `staso_otel.instrument_openai()`. The model may call one
tool, `run_shell`; the loop runs it for real and sends the result back, until the model
answers. Each request is a `chat {model}` span with its messages and usage, the tool span
carries the model's call id. Needs the OpenAI SDK: `pip install 'staso[openai]'`.

    export OPENAI_BASE_URL=https://api.openai.com/v1 OPENAI_API_KEY=sk-...
    python examples/openai_compatible.py --model gpt-4o-mini "how many files are here?" \
        --endpoint http://127.0.0.1:4318
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
        "type": "function",
        "function": {
            "name": "run_shell",
            "description": "Run a shell command and return its output and exit code.",
            "parameters": {
                "type": "object",
                "properties": {"command": {"type": "string"}},
                "required": ["command"],
            },
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
            reply = client.chat.completions.create(model=model, messages=messages, tools=TOOLS)
            message = reply.choices[0].message
            messages.append(message)
            if not message.tool_calls:
                turn.set_response(message.content or "")
                return message.content or ""
            for call in message.tool_calls:
                # inside the turn, this span takes the id of the call the model asked for
                result = run_shell(**json.loads(call.function.arguments or "{}"))
                messages.append(
                    {"role": "tool", "tool_call_id": call.id, "content": json.dumps(result)}
                )
    return ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("prompt")
    parser.add_argument("--model", default=os.environ.get("OPENAI_MODEL", "gpt-4o-mini"))
    parser.add_argument("--endpoint", default="http://127.0.0.1:4318")
    args = parser.parse_args()
    if not os.environ.get("OPENAI_API_KEY"):
        raise SystemExit("set OPENAI_API_KEY (and OPENAI_BASE_URL for a non-OpenAI server)")
    try:
        import openai
    except ImportError:
        raise SystemExit("this example needs the OpenAI SDK: pip install 'staso[openai]'") from None
    provider = staso_otel.configure(agent="openai-agent", provider="openai", endpoint=args.endpoint)
    staso_otel.instrument_openai()
    print(agent(openai.OpenAI(), args.prompt, args.model))
    provider.shutdown()


if __name__ == "__main__":
    main()
