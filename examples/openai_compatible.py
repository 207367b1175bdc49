"""Trace an agent that talks to any OpenAI-compatible Chat Completions endpoint.

Uses only the standard library (urllib), so it runs anywhere. The model may call one tool,
`run_shell`; the loop runs it for real and sends the result back, until the model answers.

    export OPENAI_BASE_URL=https://api.openai.com/v1 OPENAI_API_KEY=sk-...
    python examples/openai_compatible.py --model gpt-4o-mini "how many files are here?" \
        --endpoint http://127.0.0.1:4318
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import urllib.request
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


def chat(base_url: str, key: str, model: str, messages: list[dict]) -> dict:
    request = urllib.request.Request(
        base_url.rstrip("/") + "/chat/completions",
        data=json.dumps({"model": model, "messages": messages, "tools": TOOLS}).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())


@staso_otel.tool(category=semconv.CATEGORY_SHELL)
def run_shell(command: str) -> dict:
    proc = subprocess.run(["/bin/sh", "-c", command], capture_output=True, text=True, timeout=60)
    return {"exit_code": proc.returncode, "stdout": proc.stdout[-4000:]}


def agent(prompt: str, model: str, base_url: str, key: str, max_steps: int = 8) -> str:
    messages: list[dict] = [{"role": "user", "content": prompt}]
    with staso_otel.turn(prompt, session_id=str(uuid.uuid4()), model=model) as turn:
        for _ in range(max_steps):
            with staso_otel.llm_call(model, provider="openai", input_messages=messages) as call:
                reply = chat(base_url, key, model, messages)
                usage = reply.get("usage") or {}
                call.set_usage(
                    usage.get("prompt_tokens", 0),
                    usage.get("completion_tokens", 0),
                    cache_read_tokens=(usage.get("prompt_tokens_details") or {}).get(
                        "cached_tokens", 0
                    ),
                )
                choice = reply["choices"][0]
                message = choice["message"]
                call.set_response(
                    message,
                    response_id=reply.get("id"),
                    response_model=reply.get("model"),
                    finish_reasons=[choice.get("finish_reason") or "stop"],
                )
            messages.append(message)
            if not message.get("tool_calls"):
                turn.set_response(message.get("content") or "")
                return message.get("content") or ""
            for tool_call in message["tool_calls"]:
                arguments = json.loads(tool_call["function"]["arguments"] or "{}")
                result = run_shell(**arguments)
                messages.append(
                    {"role": "tool", "tool_call_id": tool_call["id"], "content": json.dumps(result)}
                )
    return ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("prompt")
    parser.add_argument("--model", default=os.environ.get("OPENAI_MODEL", "gpt-4o-mini"))
    parser.add_argument("--endpoint", default="http://127.0.0.1:4318")
    args = parser.parse_args()
    base_url = os.environ.get("OPENAI_BASE_URL", "https://api.openai.com/v1")
    key = os.environ.get("OPENAI_API_KEY")
    if not key:
        raise SystemExit("set OPENAI_API_KEY (and OPENAI_BASE_URL for a non-OpenAI server)")
    provider = staso_otel.configure(agent="openai-agent", provider="openai", endpoint=args.endpoint)
    print(agent(args.prompt, args.model, base_url, key))
    provider.shutdown()


if __name__ == "__main__":
    main()
