"""Incremental reader of Claude Code transcripts: new lines -> per-turn facts. [targets/claude_code]

A transcript (`~/.claude/projects/<slug>/<session>.jsonl`) is a message DAG written one
content block per line. What a tracer needs from it, and only from it:
- model calls: `api-request` (id, timestamp = request start, params.model) and the
  `assistant` lines answering it (`requestRef`), one per content block, each repeating
  the whole message envelope with the final usage: deduplicated by `message.id`;
- tool calls the hooks never saw (blocked, denied, unknown tool): `tool_use` blocks and
  the `tool_result` that answered them;
- the prompt as the model got it, and `promptId` (= the hook's `prompt_id`, the turn key).

Assistant lines carry no promptId; they belong to the prompt of the last user line above
them in the same file. A sub-agent's transcript is its own file; all its lines belong to
that sub-agent. Bookkeeping lines (`queue-operation`, `cost-state`, ...) are skipped.

Two kinds of lines are not model calls of this session and are kept out:
- an assistant line whose model is `<synthetic>`: Claude Code's own text standing in for an
  answer the API refused (`isApiErrorMessage`); it is kept as the turn's `api_error`;
- the history `--resume <id> --fork-session` copies into the new transcript: the lines keep
  their first timestamps (before the fork's SessionStart, `since`) and the copied answers
  name the parent session in `requestSessionId`.

Facts per turn live in the session's `facts[key]` as one small dict (capped content), until the
turn closes.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

from staso_otel.targets import jsonl

read_chunks = jsonl.read_chunks
READ_AHEAD_NS = jsonl.READ_AHEAD_NS


SYNTHETIC_MODEL = "<synthetic>"
# The line types ingest reads, and the big ones it does not (attachments, and the
# request shapes and blobs: 87% of the recorded transcripts' bytes), as Claude Code
# writes them (compact JSON).
_READ = (b'"type":"user"', b'"type":"assistant"', b'"type":"api-request"')
_PASSED = (b'"type":"attachment"', b'"type":"api-request-shape"', b'"type":"api-request-blob"')
# Both lists in one pass over the line (six `in` scans ran at 0.8 GB/s, this at 2)
_TYPES = re.compile(
    rb'"type":"(user|assistant|api-request-shape|api-request-blob|api-request|attachment)"'
)
_READ_TYPES = frozenset(m[len(b'"type":"') : -1] for m in _READ)


def unused(raw: bytes) -> bool:
    """A line ingest would ignore, told without decoding it, and only when sure: it
    names a type passed over and none that ingest reads, at any depth."""
    passed = False
    for found in _TYPES.finditer(raw):
        if found[1] in _READ_TYPES:
            return False
        passed = True
    return passed


def empty() -> dict[str, Any]:
    return {"user": [], "reqs": {}, "msgs": {}, "calls": {}, "results": {}, "meta": []}


def newest(facts: dict[str, Any]) -> int:
    """The latest transcript time among a turn's facts (0: none had a timestamp)."""
    times = [u["ts"] for u in facts["user"]]
    times += [r["ts"] for r in facts["reqs"].values()]
    times += [m["t1"] for m in facts["msgs"].values()]
    times += [c["ts"] for c in facts["calls"].values()]
    times += [r["ts"] for r in facts["results"].values()]
    return max(times, default=0)


def start_offset(path: str, prompt_id: str | None) -> int:
    """Where to start reading a transcript first seen mid-session (`--resume`, `-c`, or
    state lost): the first line of `prompt_id`'s turn, found from the end. 0 for a small
    file or an unknown prompt."""
    try:
        size = os.path.getsize(path)
    except OSError:
        return 0
    if prompt_id is None or size <= jsonl.BACKSCAN_CHUNK:
        return 0
    found = jsonl.backscan(path, f'"promptId":"{prompt_id}"'.encode(), size)
    return 0 if found is None else found


def has_tool_use(path: str | None, call_id: str) -> bool:
    """Whether the transcript at `path` holds the tool_use block of `call_id`, read back
    from its end (where a running sub-agent's spawning call is); `"id":` is that block's
    key, a tool_result's is `"tool_use_id":`."""
    if not path:
        return False
    needle = f'"id":"{call_id}"'.encode()
    try:
        return jsonl.backscan(path, needle, os.path.getsize(path), needle) is not None
    except OSError:
        return False


def text_of(content: Any) -> str | None:
    """A message's text: the string, or its text blocks joined (`staso import` too)."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return None
    parts = [c.get("text", "") for c in content if isinstance(c, dict) and c.get("type") == "text"]
    return "\n".join(parts) if parts else None


def ingest(
    fstate: dict[str, Any],
    lines: list[dict[str, Any]],
    tx: dict[str, dict[str, Any]],
    key: str | None = None,
    since: int = 0,
    *,
    most: int,
) -> None:
    """Fold transcript lines into tx[turn key], content kept up to `most` characters a
    value. `key` set: every line belongs to it (a sub-agent's own file); else the turn is
    the promptId of the last user line. Lines stamped before `since` (a fork's copied
    history) are skipped."""
    for line in lines:
        kind = line.get("type")
        if kind not in ("user", "assistant", "api-request"):
            continue
        ts = jsonl.parse_ts(line.get("timestamp")) or 0
        if ts < since or _copied(line):
            continue
        if kind == "user" and isinstance(line.get("promptId"), str):
            fstate["pid"] = line["promptId"]
        target = key or fstate.get("pid")
        if not target:
            continue
        facts = tx.setdefault(target, empty())
        if isinstance(line.get("version"), str):
            facts["version"] = line["version"]  # the CLI that wrote it: gen_ai.agent.version
        if kind == "api-request":
            params = line.get("params") if isinstance(line.get("params"), dict) else {}
            facts["reqs"][str(line.get("id") or "")] = {"ts": ts, "model": params.get("model")}
            continue
        message = line.get("message")
        if not isinstance(message, dict):
            continue
        if kind == "assistant":
            _assistant(facts, line, message, ts, most)
        else:
            _user(facts, line, message, ts, most)


def _copied(line: dict) -> bool:
    """An answer made for another session (a fork's copied history)."""
    origin = line.get("requestSessionId")
    return isinstance(origin, str) and origin != line.get("sessionId")


def _assistant(facts: dict[str, Any], line: dict, message: dict, ts: int, most: int) -> None:
    if message.get("model") == SYNTHETIC_MODEL:  # no request was answered: not a model call
        facts["api_error"] = {
            "ts": ts,
            "text": jsonl.cap(text_of(message.get("content")) or "the model request failed", most),
            "code": line.get("error") if isinstance(line.get("error"), str) else None,
        }
        return
    mid = str(message.get("id") or line.get("requestRef") or f"msg@{ts}")
    msg = facts["msgs"].setdefault(
        mid,
        {"t0": ts, "t1": ts, "rid": line.get("requestRef"), "model": None, "blocks": []},
    )
    msg["t1"] = max(msg["t1"], ts)
    msg["model"] = message.get("model") or msg["model"]
    if isinstance(message.get("usage"), dict):
        msg["usage"] = message["usage"]  # the same final usage on every line: keep one
    if message.get("stop_reason"):
        msg["stop"] = message["stop_reason"]
    if line.get("isApiErrorMessage") or line.get("error"):
        msg["error"] = jsonl.cap(text_of(message.get("content")) or str(line.get("error")), most)
    for block in message.get("content") or []:
        if not isinstance(block, dict):
            continue
        btype = block.get("type")
        if btype == "text" and block.get("text"):
            msg["blocks"].append({"type": "text", "text": jsonl.cap(block["text"], most)})
        elif btype == "thinking":
            msg["blocks"].append(
                {"type": "thinking", "text": jsonl.cap(block.get("thinking"), most)}
            )
        elif btype in ("tool_use", "server_tool_use"):
            call_id = str(block.get("id") or "")
            msg["blocks"].append({"type": "tool_use", "id": call_id, "name": block.get("name")})
            facts["calls"][call_id] = {
                "ts": ts,
                "name": block.get("name"),
                "input": jsonl.cap(block.get("input"), most),
                "mid": mid,
                "hosted": btype == "server_tool_use",
            }


def _user(facts: dict[str, Any], line: dict, message: dict, ts: int, most: int) -> None:
    content = message.get("content")
    results = (
        [c for c in content if isinstance(c, dict) and c.get("type") == "tool_result"]
        if isinstance(content, list)
        else []
    )
    if not results:
        if line.get("isMeta") or line.get("isCompactSummary"):
            facts.setdefault("meta", []).append(ts)  # e.g. a skill's text, preamble run
            return
        text = text_of(content)
        if text and not text.startswith("<system-reminder>"):
            facts["user"].append({"ts": ts, "text": jsonl.cap(text, most)})
        return
    for block in results:
        call_id = str(block.get("tool_use_id") or "")
        facts["results"][call_id] = {
            "ts": ts,
            "content": jsonl.cap(block.get("content"), most),
            "is_error": block.get("is_error") is True,
            "structured": jsonl.cap(line.get("toolUseResult"), most),
        }


def agent_meta(path: str | None) -> dict[str, Any]:
    """A sub-agent transcript's `.meta.json` (toolUseId, spawnDepth, parentAgentId ...);
    {} when there is none or it cannot be read."""
    if not path:
        return {}
    try:
        with jsonl.open_regular(path.removesuffix(".jsonl") + ".meta.json") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
