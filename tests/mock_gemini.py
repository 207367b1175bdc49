"""A scripted stand-in for the Gemini API, so the real Gemini CLI runs offline.

`POST /v1beta/models/<model>:streamGenerateContent?alt=sse` answers Server-Sent Events in
the shape the Gemini API streams (`data: <GenerateContentResponse>` chunks: text split over
two chunks, function calls in one, `usageMetadata` on every chunk with the final counts on
the last, as the real API does); `:generateContent` answers one JSON body and
`:countTokens` a count. The script is picked by a `SCENARIO:<name>` marker in the latest
user message that has one, and the step is the number of function responses sent since.
Requests with no marker, and every one-shot generateContent (the CLI's side queries:
its model router asks for a JSON complexity score) get a one-line answer (JSON matching
the requested schema) and are not counted. Each scripted step reports distinct token counts
(prompt 1000+step, candidates 50+step, cached 300+step, thoughts 10+step) so a test can
check the sums that reach a backend; every scripted answer is kept in `answers`.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

from mock_http import MockHandler, MockServer


def text(value: str) -> dict[str, Any]:
    return {"text": value}


def call(name: str, args: dict[str, Any]) -> dict[str, Any]:
    return {"functionCall": {"name": name, "args": args}}


SCENARIOS: dict[str, list[list[dict[str, Any]]]] = {
    "work": [
        [
            text("Running a command that fails."),
            call(
                "run_shell_command",
                {"command": "echo oops >&2; exit 3", "description": "Fail on purpose"},
            ),
        ],
        [call("write_file", {"file_path": "@CWD@/notes.txt", "content": "first line\n"})],
        [
            call(
                "replace",
                {
                    "file_path": "@CWD@/notes.txt",
                    "instruction": "Add a second line.",
                    "old_string": "first line",
                    "new_string": "first line\nsecond line",
                },
            )
        ],
        [call("read_file", {"file_path": "@CWD@/notes.txt"})],
        [text("Done: one failure, notes.txt written, edited and read back.")],
    ],
    "more": [
        [call("run_shell_command", {"command": "cat notes.txt", "description": "Show notes"})],
        [text("notes.txt has two lines.")],
    ],
    "hello": [[text("Hello there.")]],
}


def _user_text(content: dict[str, Any]) -> str:
    return "".join(p.get("text", "") for p in content.get("parts") or [] if isinstance(p, dict))


def choose(contents: list[dict[str, Any]]) -> tuple[str | None, int]:
    """The scenario named by the latest marked user message, and the step reached."""
    for i in range(len(contents) - 1, -1, -1):
        c = contents[i]
        if c.get("role", "user") != "user":
            continue
        body = _user_text(c)
        if "SCENARIO:" in body:
            rest = body.split("SCENARIO:", 1)[1].split()
            name = rest[0].strip(".,") if rest else ""
            step = sum(
                1
                for later in contents[i + 1 :]
                for p in later.get("parts") or []
                if isinstance(p, dict) and "functionResponse" in p
            )
            return name, step
    return None, 0


def _example(schema: dict[str, Any]) -> Any:
    """A value matching a side query's JSON schema (the CLI's router asks for one)."""
    kind = str(schema.get("type", "OBJECT")).upper()
    if kind == "OBJECT":
        props = schema.get("properties") or {}
        return {k: _example(v) for k, v in props.items()}
    if kind == "ARRAY":
        return []
    if kind in ("INTEGER", "NUMBER"):
        return 1
    if kind == "BOOLEAN":
        return False
    return (schema.get("enum") or ["mock"])[0]


class MockGemini(MockServer):
    def __init__(self, cwd: str) -> None:
        super().__init__()
        self.cwd = cwd
        self.answers: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []  # every request: path and body
        self._ids = itertools.count(1)

    def respond(self, model: str, body: dict[str, Any], stream: bool) -> tuple[str, list, dict]:
        """(response id, the answer's parts, its usageMetadata). Only the chat streams;
        a one-shot generateContent is a side query (its contents repeat the prompt)."""
        name, step = choose(body.get("contents") or []) if stream else (None, 0)
        with self._lock:
            response_id = f"resp_mock_{next(self._ids):04d}"
        if name not in SCENARIOS:
            schema = (body.get("generationConfig") or {}).get("responseJsonSchema")
            parts = [text(json.dumps(_example(schema)) if schema else "Mock side answer.")]
            usage = {"promptTokenCount": 7, "candidatesTokenCount": 3, "totalTokenCount": 10}
            return response_id, parts, usage
        steps = SCENARIOS[name]
        raw = json.dumps(steps[min(step, len(steps) - 1)]).replace("@CWD@", self.cwd)
        parts = json.loads(raw)
        usage = {
            "promptTokenCount": 1000 + step,
            "candidatesTokenCount": 50 + step,
            "cachedContentTokenCount": 300 + step,
            "thoughtsTokenCount": 10 + step,
        }
        usage["totalTokenCount"] = sum(
            usage[k] for k in ("promptTokenCount", "candidatesTokenCount", "thoughtsTokenCount")
        )
        answer = {"id": response_id, "scenario": name, "step": step, "model": model}
        with self._lock:
            self.answers.append(answer | {"parts": parts, "usage": usage})
        return response_id, parts, usage

    @staticmethod
    def chunks(model: str, response_id: str, parts: list[dict], usage: dict) -> list[dict]:
        """The stream of one answer: text split over two chunks, a call in one; every
        chunk carries usageMetadata, the final counts on the last (as the API does)."""
        pieces: list[dict[str, Any]] = []
        for p in parts:
            if "text" in p and len(p["text"]) > 8:
                half = len(p["text"]) // 2
                pieces += [text(p["text"][:half]), text(p["text"][half:])]
            else:
                pieces.append(p)
        out = []
        for i, piece in enumerate(pieces):
            last = i == len(pieces) - 1
            candidate: dict[str, Any] = {"content": {"role": "model", "parts": [piece]}, "index": 0}
            if last:
                candidate["finishReason"] = "STOP"
            partial = {"promptTokenCount": usage["promptTokenCount"]}
            out.append(
                {
                    "candidates": [candidate],
                    "usageMetadata": usage if last else partial,
                    "modelVersion": model,
                    "responseId": response_id,
                }
            )
        return out

    def on_get(self, request: MockHandler) -> None:
        request.send_json(404, {"error": {"code": 404, "message": "not found"}})

    def on_post(self, request: MockHandler) -> None:
        try:
            body = json.loads(request.body() or b"{}")
        except ValueError:
            return request.send_json(400, {"error": {"code": 400, "message": "bad json"}})
        path = request.route
        with self._lock:
            self.requests.append({"path": request.path, "body": body})
        model, _, method = path.rpartition("/")[2].partition(":")
        if method == "countTokens":
            return request.send_json(200, {"totalTokens": 123})
        if method not in ("generateContent", "streamGenerateContent"):
            return request.send_json(404, {"error": {"code": 404, "message": path}})
        response_id, parts, usage = self.respond(model, body, method == "streamGenerateContent")
        if method == "generateContent":
            candidate = {"content": {"role": "model", "parts": parts}, "index": 0}
            candidate["finishReason"] = "STOP"
            answer = {"candidates": [candidate], "usageMetadata": usage}
            return request.send_json(
                200, answer | {"modelVersion": model, "responseId": response_id}
            )
        chunks = self.chunks(model, response_id, parts, usage)
        request.stream([f"data: {json.dumps(chunk)}\r\n\r\n".encode() for chunk in chunks])
