"""A scripted stand-in for the Anthropic Messages API, so the real Claude Code runs offline.

`POST /v1/messages` answers Server-Sent Events in the shape Claude Code 2.1.330 streams
(message_start, content_block_start/delta/stop for text and tool_use, message_delta with
the final usage, message_stop). The script is picked by a `SCENARIO:<name>` marker in the
latest user message that has one (a resumed session resends its history) and the step is
the number of tool results sent since; a sub-agent's requests carry `SUBAGENT:<name>`.
Requests with no marker (side queries) get a one-line answer. Each step reports distinct
token counts (input 1000+step, output 50+step, cache read 300+step, cache write 20+step)
so a test can check the sums that reach a backend; every answer is kept in `answers`.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

from mock_http import MockHandler, MockServer


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


def tool(name: str, args: dict[str, Any]) -> dict[str, Any]:
    return {"type": "tool_use", "name": name, "input": args}


SCENARIOS: dict[str, list[list[dict[str, Any]]]] = {
    "work": [
        [text("Running echo."), tool("Bash", {"command": "echo hi", "description": "Say hi"})],
        [tool("Write", {"file_path": "@CWD@/notes.txt", "content": "first line\n"})],
        [
            tool(
                "Edit",
                {
                    "file_path": "@CWD@/notes.txt",
                    "old_string": "first line",
                    "new_string": "first line\nsecond line",
                },
            )
        ],
        [tool("Bash", {"command": "echo oops >&2; exit 3", "description": "Fail on purpose"})],
        [
            tool(
                "@AGENT@",
                {
                    "description": "Count lines",
                    "prompt": "SUBAGENT:count please count the lines",
                    "subagent_type": "general-purpose",
                },
            )
        ],
        [text("Done: echo, notes.txt written and edited, one failure, a helper counting.")],
    ],
    "more": [
        [tool("Bash", {"command": "cat notes.txt", "description": "Show notes"})],
        [text("notes.txt has two lines.")],
    ],
}
SCENARIOS |= {
    # depth 2: the main agent spawns "outer", which spawns "inner"
    "nest": [
        [
            tool(
                "@AGENT@",
                {
                    "description": "Outer helper",
                    "prompt": "SUBAGENT:outer delegate once more",
                    "subagent_type": "general-purpose",
                },
            )
        ],
        [text("Asked the outer helper.")],
    ],
    # two background sub-agents launched by one message
    "fan": [
        [
            tool(
                "@AGENT@",
                {
                    "description": "First helper",
                    "prompt": "SUBAGENT:slow run the slow one",
                    "subagent_type": "general-purpose",
                },
            ),
            tool(
                "@AGENT@",
                {
                    "description": "Second helper",
                    "prompt": "SUBAGENT:fast run the fast one",
                    "subagent_type": "general-purpose",
                },
            ),
        ],
        [text("Both helpers launched.")],
    ],
    "tasks": [
        [
            tool(
                "TaskCreate",
                {
                    "subject": "Write notes",
                    "description": "Write notes.txt",
                    "activeForm": "Writing notes",
                },
            )
        ],
        [
            tool(
                "TaskCreate",
                {
                    "subject": "Check notes",
                    "description": "Read notes.txt back",
                    "activeForm": "Checking notes",
                },
            )
        ],
        [tool("TaskUpdate", {"taskId": "1", "status": "in_progress"})],
        [tool("TaskUpdate", {"taskId": "1", "status": "completed"})],
        [tool("TaskList", {})],
        [text("Planned two tasks, finished one.")],
    ],
    "bg": [
        [
            tool(
                "Bash",
                {
                    "command": "sleep 1; echo bg-out; exit 4",
                    "description": "Background job",
                    "run_in_background": True,
                },
            )
        ],
        [text("Started the job; waiting.")],
    ],
    "bgdone": [[text("The job finished.")]],
    "error": [[{"type": "api_error", "status": 400, "message": "mock: prompt is too long"}]],
    "hello": [[text("Hello there.")]],
    "skill": [[tool("Skill", {"skill": "greet"})], [text("Greeted.")]],
}
SUB_SCENARIOS: dict[str, list[list[dict[str, Any]]]] = {
    "count": [
        [tool("Bash", {"command": "wc -l < notes.txt", "description": "count"})],
        [text("2 lines")],
    ],
    "outer": [
        [
            tool(
                "@AGENT@",
                {
                    "description": "Inner helper",
                    "prompt": "SUBAGENT:inner run the deepest command",
                    "subagent_type": "general-purpose",
                },
            )
        ],
        [text("outer done")],
    ],
    "inner": [
        [tool("Bash", {"command": "echo from-depth-2", "description": "deep"})],
        [text("inner done")],
    ],
    "slow": [
        [tool("Bash", {"command": "sleep 2; echo slow-one", "description": "slow"})],
        [text("slow done")],
    ],
    "fast": [
        [tool("Bash", {"command": "echo fast-one", "description": "fast"})],
        [text("fast done")],
    ],
}


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "\n".join(
        b.get("text", "") for b in content or [] if isinstance(b, dict) and b.get("type") == "text"
    )


def _marker(messages: list[dict[str, Any]], marker: str) -> tuple[str | None, int]:
    for i in range(len(messages) - 1, -1, -1):
        if messages[i].get("role") != "user":
            continue
        body = _text_of(messages[i].get("content"))
        if marker in body:
            rest = body.split(marker, 1)[1].split()
            return (rest[0].strip(".,") if rest else ""), i
    return None, -1


class MockAnthropic(MockServer):
    def __init__(self, cwd: str) -> None:
        super().__init__()
        self.cwd = cwd
        self.answers: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []  # every request body, for recordings
        self._ids = itertools.count(1)

    def _id(self, prefix: str) -> str:
        with self._lock:
            return f"{prefix}_{next(self._ids):04d}"

    def choose(self, body: dict[str, Any]) -> tuple[str, int, list[dict[str, Any]]]:
        messages = body.get("messages") or []
        names = [t.get("name") for t in body.get("tools") or [] if isinstance(t, dict)]
        name, at = _marker(messages, "SUBAGENT:")
        table = SUB_SCENARIOS
        if name is None:
            name, at = _marker(messages, "SCENARIO:")
            table = SCENARIOS
        if name not in table:
            return "side", 0, [text("Mock side answer.")]
        step = sum(
            1
            for m in messages[at:]
            if isinstance(m.get("content"), list)
            for b in m["content"]
            if isinstance(b, dict) and b.get("type") == "tool_result"
        )
        steps = table[name]
        blocks = json.loads(json.dumps(steps[min(step, len(steps) - 1)]).replace("@CWD@", self.cwd))
        for b in blocks:
            if b.get("name") == "@AGENT@":
                b["name"] = "Agent" if "Agent" in names else "Task"
        return name, step, blocks

    def respond(self, body: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, dict]]]:
        scenario, step, blocks = self.choose(body)
        message_id = self._id("msg_mock")
        if scenario == "side":
            usage = {"input_tokens": 7, "output_tokens": 3}
            usage |= {"cache_read_input_tokens": 0, "cache_creation_input_tokens": 0}
        else:
            usage = {
                "input_tokens": 1000 + step,
                "output_tokens": 50 + step,
                "cache_read_input_tokens": 300 + step,
                "cache_creation_input_tokens": 20 + step,
            }
        content = [
            {**b, "id": self._id("toolu_mock")} if b["type"] == "tool_use" else b for b in blocks
        ]
        stop = "tool_use" if any(b["type"] == "tool_use" for b in content) else "end_turn"
        answer = {
            "id": message_id,
            "scenario": scenario,
            "step": step,
            "content": content,
            "usage": usage,
        }
        with self._lock:
            self.answers.append(answer)
        if any(b["type"] == "api_error" for b in content):
            return answer, []
        model = body.get("model") or "claude-mock"
        start = {
            "id": message_id,
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {**usage, "output_tokens": 1},
        }
        events: list[tuple[str, dict]] = [("message_start", {"message": start})]
        for i, b in enumerate(content):
            if b["type"] == "text":
                events.append(
                    (
                        "content_block_start",
                        {"index": i, "content_block": {"type": "text", "text": ""}},
                    )
                )
                delta = {"type": "text_delta", "text": b["text"]}
            else:
                block = {"type": "tool_use", "id": b["id"], "name": b["name"], "input": {}}
                events.append(("content_block_start", {"index": i, "content_block": block}))
                delta = {"type": "input_json_delta", "partial_json": json.dumps(b["input"])}
            events.append(("content_block_delta", {"index": i, "delta": delta}))
            events.append(("content_block_stop", {"index": i}))
        events.append(
            (
                "message_delta",
                {"delta": {"stop_reason": stop, "stop_sequence": None}, "usage": usage},
            )
        )
        events.append(("message_stop", {}))
        return answer, events

    def on_head(self, request: MockHandler) -> None:
        request.send_body(200, "application/json", b"")

    def on_get(self, request: MockHandler) -> None:
        request.send_json(404, {"type": "error", "error": {"type": "not_found_error"}})

    def on_post(self, request: MockHandler) -> None:
        try:
            body = json.loads(request.body() or b"{}")
        except ValueError:
            return request.send_json(400, {"type": "error", "error": {"type": "bad_json"}})
        path = request.route
        if path.endswith("/count_tokens"):
            return request.send_json(200, {"input_tokens": 123})
        if not path.endswith("/v1/messages"):
            return request.send_json(404, {"type": "error", "error": {"type": "not_found"}})
        with self._lock:
            self.requests.append(body)
        answer, events = self.respond(body)
        failure = next((b for b in answer["content"] if b["type"] == "api_error"), None)
        if failure is not None:  # an API error Claude Code does not retry (4xx)
            error = {"type": "invalid_request_error", "message": failure["message"]}
            return request.send_json(failure["status"], {"type": "error", "error": error})
        if not body.get("stream"):
            message = events[0][1]["message"] | {
                "content": answer["content"],
                "usage": answer["usage"],
                "stop_reason": events[-2][1]["delta"]["stop_reason"],
            }
            return request.send_json(200, message)
        request.stream(
            [
                f"event: {name}\ndata: {json.dumps({'type': name, **data})}\n\n".encode()
                for name, data in events
            ]
        )
