"""A scripted stand-in for the OpenAI Responses API, so the real Codex CLI runs offline.

`POST /v1/responses` answers Server-Sent Events in the shape Codex 0.169.0 accepts
(response.created, output_item.added/done, response.completed with usage). The script is
picked by a `SCENARIO:<name>` marker in the latest user message; the step is the number of
tool outputs sent back since that message. Every request body is kept in `requests`, and
each step reports distinct token counts so tests can check the sums that reach a backend.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable
from typing import Any

from mock_http import MockHandler, MockServer

PATCH_ADD = "*** Begin Patch\n*** Add File: notes.txt\n+first line\n+second line\n*** End Patch"


class MockResponses(MockServer):
    url_path = "/v1"

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        self.scenarios: dict[str, list[Callable[[], list[dict[str, Any]]]]] = {
            "hello": [lambda: [self.message("Hello from the mock model.")]],
            "work": [
                lambda: [self.function_call("exec_command", {"cmd": "echo hi"})],
                lambda: [self.function_call("exec_command", {"cmd": "echo oops >&2; exit 3"})],
                lambda: [self.custom_call("apply_patch", PATCH_ADD)],
                lambda: [self.message("Done: ran two commands and wrote notes.txt.")],
            ],
            "more": [
                lambda: [self.function_call("exec_command", {"cmd": "cat notes.txt"})],
                lambda: [self.message("notes.txt has two lines.")],
            ],
            # calls Codex refuses or a PreToolUse hook blocks: none of them runs
            "refuse": [
                lambda: [self.function_call("apply_patch", {"input": PATCH_ADD})],
                lambda: [self.custom_call("no_such_custom_tool", "whatever")],
                lambda: [self.function_call("no_such_tool", {"x": 1})],
                lambda: [self.function_call("exec_command", {"cmd": "echo BLOCKME"})],
                lambda: [self.message("Nothing ran.")],
            ],
            # a command that asks to leave the sandbox: PermissionRequest with --approve-for-me
            "escalate": [
                lambda: [
                    self.function_call(
                        "exec_command",
                        {
                            "cmd": "echo escalated",
                            "sandbox_permissions": "require_escalated",
                            "justification": "need to run outside the sandbox",
                        },
                    )
                ],
                lambda: [self.message("escalate done")],
            ],
            # a freeform apply_patch: refused by models whose tool list has no apply_patch
            "patch": [
                lambda: [self.custom_call("apply_patch", PATCH_ADD)],
                lambda: [self.message("Patched.")],
            ],
            # multi-agent v2 (namespace `collaboration`): a sub-agent by task name, then wait
            "spawn": [
                lambda: [
                    self.function_call(
                        "spawn_agent",
                        {
                            "task_name": "helper",
                            "fork_turns": "none",
                            "message": "SCENARIO:sub run echo in the sub-agent",
                        },
                        namespace="collaboration",
                    )
                ],
                lambda: [self.function_call("wait_agent", {"timeout_ms": 20000}, "collaboration")],
                lambda: [self.message("parent done after sub-agent")],
            ],
            "sub": [
                lambda: [self.function_call("exec_command", {"cmd": "echo from-subagent"})],
                lambda: [self.message("sub-agent final answer")],
            ],
            # a patch that cannot apply (the file is not there): Codex runs it and it fails
            "badpatch": [
                lambda: [
                    self.custom_call(
                        "apply_patch",
                        "*** Begin Patch\n*** Update File: missing.txt\n@@\n-old line\n"
                        "+new line\n*** End Patch",
                    )
                ],
                lambda: [self.message("The patch did not apply.")],
            ],
            # every response reports a near-full context: Codex compacts between requests
            "compact": [
                lambda: [self.function_call("exec_command", {"cmd": "echo before-compact"})],
                lambda: [self.function_call("exec_command", {"cmd": "echo after-compact"})],
                lambda: [self.message("compact scenario done")],
            ],
        }
        # scenarios whose first response triggers auto-compaction; compaction drops the tool
        # outputs the step is counted from, so these count the requests they served instead
        self.big_usage = {"compact"}
        self._served: dict[str, int] = {}
        self.kinds: list[str] = []  # x-codex-turn-metadata request_kind of every request
        self.usages: list[dict[str, Any]] = []  # the usage of every response sent

    # -- Responses API items ------------------------------------------------------------
    def _id(self, prefix: str) -> str:
        with self._lock:
            return f"{prefix}_{next(self._ids):04d}"

    def message(self, text: str) -> dict[str, Any]:
        return {
            "type": "message",
            "role": "assistant",
            "id": self._id("msg"),
            "status": "completed",
            "content": [{"type": "output_text", "text": text, "annotations": []}],
        }

    def function_call(
        self, name: str, args: dict[str, Any], namespace: str | None = None
    ) -> dict[str, Any]:
        item = {
            "type": "function_call",
            "id": self._id("fc"),
            "call_id": self._id("call"),
            "name": name,
            "arguments": json.dumps(args),
            "status": "completed",
        }
        if namespace:
            item["namespace"] = namespace
        return item

    def custom_call(self, name: str, text: str) -> dict[str, Any]:
        return {
            "type": "custom_tool_call",
            "id": self._id("ctc"),
            "call_id": self._id("call"),
            "name": name,
            "input": text,
            "status": "completed",
        }

    @staticmethod
    def usage(step: int, big: bool = False) -> dict[str, Any]:
        inp, out = (200_000 if big else 1000) + 100 * step, 40 + step
        return {
            "input_tokens": inp,
            "input_tokens_details": {"cached_tokens": 200 * step},
            "output_tokens": out,
            "output_tokens_details": {"reasoning_tokens": 8},
            "total_tokens": inp + out,
        }

    # -- scripting ------------------------------------------------------------------------
    @staticmethod
    def _text(item: dict[str, Any]) -> str:
        return "\n".join(
            c.get(key, "")
            for c in item.get("content") or []
            for key in ("text", "encrypted_content")
            if isinstance(c, dict) and isinstance(c.get(key), str)
        )

    def choose(self, body: dict[str, Any]) -> tuple[str | None, int]:
        items = body.get("input") or []
        marker_at, scenario = None, None
        for i, item in enumerate(items):
            # multi-agent v2 hands a sub-agent its task as an `agent_message` item
            if (item.get("type") == "message" and item.get("role") == "user") or item.get(
                "type"
            ) == "agent_message":
                found = re.findall(r"SCENARIO:([a-z_]+)", self._text(item))
                if found:
                    marker_at, scenario = i, found[-1]
        if scenario is None:
            return None, 0
        step = sum(
            1
            for item in items[marker_at + 1 :]
            if item.get("type") in ("function_call_output", "custom_tool_call_output")
        )
        return scenario, step

    def respond(self, body: dict[str, Any], kind: str = "turn") -> bytes:
        scenario, step = self.choose(body)
        script = self.scenarios.get(scenario or "", [])
        big = scenario in self.big_usage
        if kind == "compaction":  # the summary Codex asked for; small usage of its own
            items, usage = [self.message("Summary: ran echo before-compact.")], self.usage(9)
        else:
            if big:
                with self._lock:
                    step = self._served.get(scenario or "", 0)
                    self._served[scenario or ""] = step + 1
            items = script[step]() if step < len(script) else [self.message("ok")]
            usage = self.usage(step, big and step == 0)
        with self._lock:
            self.usages.append(usage)
        response_id = self._id("resp")
        events: list[dict[str, Any]] = [
            {"type": "response.created", "response": {"id": response_id}}
        ]
        for item in items:
            events.append({"type": "response.output_item.added", "item": item})
            if item["type"] == "message":
                events.append({"type": "response.output_text.delta", "delta": self._text(item)})
            events.append({"type": "response.output_item.done", "item": item})
        events.append(
            {
                "type": "response.completed",
                "response": {"id": response_id, "usage": usage},
            }
        )
        return "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events).encode()

    @staticmethod
    def request_kind(header: str | None) -> str:
        """Codex names each request's purpose in `x-codex-turn-metadata` (turn, compaction)."""
        try:
            meta = json.loads(header or "{}")
        except ValueError:
            return "turn"
        kind = meta.get("request_kind") if isinstance(meta, dict) else None
        return kind if isinstance(kind, str) else "turn"

    # -- server ---------------------------------------------------------------------------
    def on_get(self, request: MockHandler) -> None:
        if request.route.rstrip("/").endswith("/models"):
            request.send_json(200, {"models": [], "data": []})
        else:
            request.send_json(404, {})

    def on_post(self, request: MockHandler) -> None:
        raw = request.body()
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = {}
        kind = self.request_kind(request.headers.get("x-codex-turn-metadata"))
        with self._lock:
            self.requests.append(body)
            self.kinds.append(kind)
        if not request.route.endswith("/responses"):
            request.send_json(404, {})
            return
        request.send_body(200, "text/event-stream", self.respond(body, kind))
