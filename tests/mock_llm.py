"""A scripted OpenAI and Anthropic API on 127.0.0.1, for the real SDKs in library tests.

`POST /v1/chat/completions`, `/v1/responses` (OpenAI) and `/v1/messages` (Anthropic)
answer JSON, or Server-Sent Events when the body asks `stream`, in the shapes the
official SDKs parse. Each request takes the next `Step` of `script` (the last one repeats):
a text answer, tool calls, an HTTP error (429 / 500 with the API's error body), or a
stream cut off after `cut_after` events (the connection closes mid-answer). Token counts
are fixed per step so tests can check the sums. Every request body is kept in `requests`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from mock_http import MockHandler, MockServer


@dataclass
class Step:
    text: str = ""
    tools: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)  # id, name, args
    status: int = 200
    cut_after: int | None = None  # stream: close the connection after this many events
    input_tokens: int = 100
    output_tokens: int = 20
    cached_tokens: int = 30
    cache_write_tokens: int = 7  # Anthropic only
    reasoning_tokens: int = 5


def _sse(events: list[tuple[str | None, dict[str, Any]]]) -> list[bytes]:
    out = []
    for name, data in events:
        head = f"event: {name}\n" if name else ""
        out.append(f"{head}data: {json.dumps(data)}\n\n".encode())
    return out


class MockLLM(MockServer):
    def __init__(self) -> None:
        super().__init__()
        self.script: list[Step] = [Step(text="Hello.")]
        self.requests: list[dict[str, Any]] = []
        self._served = 0

    @property
    def openai_url(self) -> str:
        return f"{self.base_url}/v1"

    def _next(self, body: dict[str, Any]) -> tuple[Step, int]:
        with self._lock:
            self.requests.append(body)
            n = self._served
            self._served += 1
        return self.script[min(n, len(self.script) - 1)], n

    # -- OpenAI Chat Completions ----------------------------------------------------------
    def chat(self, body: dict[str, Any], step: Step, n: int) -> tuple[dict, list[bytes]]:
        rid, model = f"chatcmpl-{n}", body.get("model", "m")
        calls = [
            {"id": cid, "type": "function", "function": {"name": nm, "arguments": json.dumps(a)}}
            for cid, nm, a in step.tools
        ]
        finish = "tool_calls" if calls else "stop"
        usage = {
            "prompt_tokens": step.input_tokens,
            "completion_tokens": step.output_tokens,
            "total_tokens": step.input_tokens + step.output_tokens,
            "prompt_tokens_details": {"cached_tokens": step.cached_tokens},
            "completion_tokens_details": {"reasoning_tokens": step.reasoning_tokens},
        }
        message: dict[str, Any] = {"role": "assistant", "content": step.text or None}
        if calls:
            message["tool_calls"] = calls
        whole = {
            "id": rid,
            "object": "chat.completion",
            "created": 1,
            "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": usage,
        }
        base = {"id": rid, "object": "chat.completion.chunk", "created": 1, "model": model}
        chunks: list[dict[str, Any]] = [
            {**base, "choices": [{"index": 0, "delta": {"role": "assistant"}}]}
        ]
        for word in step.text.split(" ") if step.text else []:
            delta = {"content": word if not chunks[1:] else " " + word}
            chunks.append({**base, "choices": [{"index": 0, "delta": delta}]})
        for i, call in enumerate(calls):
            args = call["function"]["arguments"]
            for j, piece in enumerate((args[: len(args) // 2], args[len(args) // 2 :])):
                fn = {"name": call["function"]["name"], "arguments": piece} if j == 0 else None
                tc = {"index": i, "id": call["id"], "type": "function", "function": fn}
                if j:
                    tc = {"index": i, "function": {"arguments": piece}}
                chunks.append({**base, "choices": [{"index": 0, "delta": {"tool_calls": [tc]}}]})
        chunks.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
        if (body.get("stream_options") or {}).get("include_usage"):
            chunks.append({**base, "choices": [], "usage": usage})
        return whole, [*_sse([(None, c) for c in chunks]), b"data: [DONE]\n\n"]

    # -- OpenAI Responses -----------------------------------------------------------------
    def responses(self, body: dict[str, Any], step: Step, n: int) -> tuple[dict, list[bytes]]:
        rid, model = f"resp_{n}", body.get("model", "m")
        output: list[dict[str, Any]] = []
        if step.text:
            output.append(
                {
                    "type": "message",
                    "id": f"msg_{n}",
                    "role": "assistant",
                    "status": "completed",
                    "content": [{"type": "output_text", "text": step.text, "annotations": []}],
                }
            )
        for cid, name, args in step.tools:
            output.append(
                {
                    "type": "function_call",
                    "id": f"fc_{cid}",
                    "call_id": cid,
                    "name": name,
                    "arguments": json.dumps(args),
                    "status": "completed",
                }
            )
        usage = {
            "input_tokens": step.input_tokens,
            "input_tokens_details": {"cached_tokens": step.cached_tokens},
            "output_tokens": step.output_tokens,
            "output_tokens_details": {"reasoning_tokens": step.reasoning_tokens},
            "total_tokens": step.input_tokens + step.output_tokens,
        }
        shell = {
            "id": rid,
            "object": "response",
            "created_at": 1,
            "model": model,
            "status": "in_progress",
            "output": [],
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "tools": [],
        }
        whole = {**shell, "status": "completed", "output": output, "usage": usage}
        events: list[tuple[str | None, dict[str, Any]]] = []
        seq = iter(range(10_000))

        def event(kind: str, **data: Any) -> None:
            events.append((kind, {"type": kind, "sequence_number": next(seq), **data}))

        event("response.created", response=shell)
        for i, item in enumerate(output):
            event("response.output_item.added", output_index=i, item=item)
            if item["type"] == "message":
                event(
                    "response.output_text.delta",
                    item_id=item["id"],
                    output_index=i,
                    content_index=0,
                    delta=step.text,
                    logprobs=[],
                )
            event("response.output_item.done", output_index=i, item=item)
        event("response.completed", response=whole)
        return whole, _sse(events)

    # -- Anthropic Messages ---------------------------------------------------------------
    def messages(self, body: dict[str, Any], step: Step, n: int) -> tuple[dict, list[bytes]]:
        mid, model = f"msg_{n:04d}", body.get("model", "claude")
        content: list[dict[str, Any]] = []
        if step.text:
            content.append({"type": "text", "text": step.text})
        for cid, name, args in step.tools:
            content.append({"type": "tool_use", "id": cid, "name": name, "input": args})
        stop = "tool_use" if step.tools else "end_turn"
        usage = {
            "input_tokens": step.input_tokens,
            "output_tokens": step.output_tokens,
            "cache_read_input_tokens": step.cached_tokens,
            "cache_creation_input_tokens": step.cache_write_tokens,
        }
        whole = {
            "id": mid,
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": content,
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": usage,
        }
        start = {
            **whole,
            "content": [],
            "stop_reason": None,
            "usage": {**usage, "output_tokens": 1},
        }
        events: list[tuple[str | None, dict[str, Any]]] = [
            ("message_start", {"type": "message_start", "message": start})
        ]
        for i, block in enumerate(content):
            if block["type"] == "text":
                first = {"type": "text", "text": ""}
                deltas = [{"type": "text_delta", "text": w} for w in _halves(block["text"])]
            else:
                first = {**block, "input": {}}
                raw = json.dumps(block["input"])
                deltas = [{"type": "input_json_delta", "partial_json": p} for p in _halves(raw)]
            events.append(
                (
                    "content_block_start",
                    {"type": "content_block_start", "index": i, "content_block": first},
                )
            )
            for d in deltas:
                events.append(
                    ("content_block_delta", {"type": "content_block_delta", "index": i, "delta": d})
                )
            events.append(("content_block_stop", {"type": "content_block_stop", "index": i}))
        events.append(
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": stop, "stop_sequence": None},
                    "usage": {"output_tokens": step.output_tokens},
                },
            )
        )
        events.append(("message_stop", {"type": "message_stop"}))
        return whole, _sse(events)

    # -- server ---------------------------------------------------------------------------
    def on_post(self, request: MockHandler) -> None:
        body = json.loads(request.body() or b"{}")
        kinds = {
            "/v1/chat/completions": self.chat,
            "/v1/responses": self.responses,
            "/v1/messages": self.messages,
        }
        if request.route not in kinds:
            return request.send_json(404, {"error": {"message": "not found"}})
        step, n = self._next(body)
        if step.status != 200:
            kind = "rate_limit_error" if step.status == 429 else "api_error"
            error = {"type": kind, "message": f"mock: {step.status}", "code": kind}
            return request.send_json(step.status, {"type": "error", "error": error})
        whole, events = kinds[request.route](body, step, n)
        if not body.get("stream"):
            return request.send_json(200, whole)
        # chunked, not closed: the SDKs keep the connection for the next request, and a
        # cut stream is a body that ends without its last chunk
        request.send_response(200)
        request.send_header("content-type", "text/event-stream")
        request.send_header("cache-control", "no-cache")
        request.send_header("transfer-encoding", "chunked")
        request.end_headers()
        cut = step.cut_after if step.cut_after is not None else len(events)
        for chunk in events[:cut]:
            request.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        if cut < len(events):  # closed with no last chunk: a broken body
            request.close_connection = True
        else:  # a whole body: the connection stays open for the next request
            request.wfile.write(b"0\r\n\r\n")
        request.wfile.flush()


def _halves(text: str) -> list[str]:
    mid = len(text) // 2
    return [p for p in (text[:mid], text[mid:]) if p]
