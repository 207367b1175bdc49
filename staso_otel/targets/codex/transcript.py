"""Incremental reader of Codex rollout files: new complete lines -> per-turn facts. [targets/codex]

A rollout only grows, so each file's byte offset lives in the session state and a read
touches only bytes written since the last one: a turn at the end of a long session costs
what that turn wrote. A line still being written (no newline yet) waits for the next read.

Lines are attributed to turns by what the rollout itself says (`turn_id` on the line, else
the turn opened by the last `task_started` / `turn_context` of that file), never by when
the worker happens to read them: a worker that lags may read turn 2's lines while it
closes turn 1. Both formats are accepted, keyed on `type` / `payload.type`: 0.169.0
"paginated" (`ordinal`, `token_usage_record`, `item_completed`) and the legacy one of
0.125/0.130 (`user_message`, `token_count` after every item, `patch_apply_end`).

Facts are small dicts `{"k": kind, "ts": ns, ...}` kept in the session's `facts[turn_id]` until the
turn closes; content in them is capped (`most` characters a value: the worker's
ctx.max_text) so the state stays small.
"""

from __future__ import annotations

import os
from typing import Any

from staso_otel.targets import jsonl
from staso_otel.targets.codex import tools

BACKSCAN_CHUNK = jsonl.BACKSCAN_CHUNK
READ_AHEAD_NS = jsonl.READ_AHEAD_NS
stats = jsonl.stats  # the same dict: tests read bytes read per target through either
parse_ts = jsonl.parse_ts
read_chunks = jsonl.read_chunks
first_line = jsonl.first_line
_cap = jsonl.cap


# Lines no reader uses, told by their head (their own `type`, and their payload's, come
# first as Codex writes them, before any content): the tool catalogue Codex sends the
# model (`additional_tools`) and the environment it describes to it (`world_state`), a
# quarter of the recorded rollouts' bytes. A head that does not match is decoded.
_PASSED_HEADS = (b'"type":"world_state","payload":', b'"payload":{"type":"additional_tools",')
_HEAD = 160  # bytes: past a stamp, an ordinal and both types


def unused(fstate: dict[str, Any], raw: bytes) -> bool:
    """A line `ingest` would ignore, told without decoding it. It notes what ingest would
    still have taken from it: that the rollout is paginated (it has an `ordinal`)."""
    head = raw[:_HEAD]
    if _PASSED_HEADS[0] not in head and _PASSED_HEADS[1] not in head:
        return False
    if b'"ordinal":' in head:
        fstate["paginated"] = True
    return True


def start_offset(path: str, turn_id: str | None) -> int:
    """Where to start reading a rollout first seen mid-session (`codex exec resume`, or
    state lost): the line opening `turn_id` (task_started carries it), found by scanning
    back from the end and stopping there, so only about the turn's own bytes are read,
    however long the session before it. 0 for a small file or an unknown turn."""
    try:
        size = os.path.getsize(path)
    except OSError:
        return 0
    if turn_id is None or size <= BACKSCAN_CHUNK:
        return 0
    found = jsonl.backscan(path, turn_id.encode(), size, b'"task_started"')
    return 0 if found is None else found


def _text(content: Any, kinds: tuple[str, ...]) -> str | None:
    if not isinstance(content, list):
        return None
    parts = [c.get("text", "") for c in content if isinstance(c, dict) and c.get("type") in kinds]
    return "".join(parts) if parts else None


def _item_fact(
    item: dict[str, Any], ts: int, p: dict[str, Any], most: int
) -> dict[str, Any] | None:
    kind = item.get("type")
    if kind == "UserMessage":
        return {"k": "user", "ts": ts, "text": _cap(_text(item.get("content"), ("text",)), most)}
    if kind == "HookPrompt":
        frags = item.get("fragments") or []
        text = "\n".join(f.get("text", "") for f in frags if isinstance(f, dict))
        return {"k": "hookprompt", "ts": ts, "text": _cap(text, most)}
    if kind == "ContextCompaction":
        t0, t1 = p.get("started_at_ms"), p.get("completed_at_ms")
        return {
            "k": "compact",
            "ts": ts,
            "t0": int(t0) * 1_000_000 if isinstance(t0, int) else ts,
            "t1": int(t1) * 1_000_000 if isinstance(t1, int) else ts,
        }
    if kind == "SubAgentActivity" and item.get("kind") != "started":
        return None  # "completed" has an id of its own, not the spawn call's
    if kind in (
        "CommandExecution",
        "FileChange",
        "McpToolCall",
        "WebSearch",
        "ImageView",
        "SubAgentActivity",  # multi-agent v2: which thread the spawn call started
        "CollabAgentToolCall",
    ):
        kept = {k: _cap(v, most) for k, v in item.items() if k not in ("parsed_cmd",)}
        fact = {"k": "item", "ts": ts, "id": str(item.get("id") or ""), "item": kept}
        for key, out in (("started_at_ms", "t0"), ("completed_at_ms", "t1")):
            if isinstance(p.get(key), int):
                fact[out] = p[key] * 1_000_000
        return fact
    return None


def ingest(
    fstate: dict[str, Any], lines: list[dict[str, Any]], tx: dict[str, list], *, most: int
) -> None:
    """Turn rollout lines into facts appended to tx[turn_id], content kept up to `most`
    characters a value; fstate is the file's state."""
    for line in lines:
        ts = parse_ts(line.get("timestamp")) or 0
        kind = line.get("type")
        p = line.get("payload")
        if not isinstance(p, dict):
            continue
        if "ordinal" in line:
            fstate["paginated"] = True
        ptype = p.get("type")
        turn = p.get("turn_id") if isinstance(p.get("turn_id"), str) else None
        fact: dict[str, Any] | None = None
        if kind == "session_meta":
            fstate["meta"] = {
                "cli_version": p.get("cli_version"),
                "provider": p.get("model_provider"),
                "agent_path": p.get("agent_path"),
                "agent_nickname": p.get("agent_nickname"),
            }
            continue
        if kind == "turn_context":
            fstate["turn"] = turn or fstate.get("turn")
            fact = {"k": "ctx", "ts": ts, "model": p.get("model")}
        elif kind == "token_usage_record":
            fact = {
                "k": "usage",
                "ts": ts,
                "rid": p.get("response_id"),
                "u": p.get("usage"),
                "turn_total": p.get("turn_token_usage"),
            }
        elif kind == "compacted":
            fact = {"k": "compacted", "ts": ts}
        elif kind == "event_msg":
            fact = _event_msg(fstate, p, ptype, ts, most)
            if ptype == "task_started" and turn:
                fstate["turn"] = turn
        elif kind == "response_item":
            fact = _response_item(fstate, p, ptype, ts, most)
        if fact is None:
            continue
        target = turn or fstate.get("turn")
        if not target:
            continue
        tx.setdefault(target, []).append(fact)


def _event_msg(
    fs: dict[str, Any], p: dict[str, Any], ptype: Any, ts: int, most: int
) -> dict | None:
    if ptype == "task_started":
        return {"k": "start", "ts": ts}
    if ptype == "task_complete":
        err = p.get("error") if isinstance(p.get("error"), dict) else None
        return {
            "k": "end",
            "ts": ts,
            "how": "failed" if err else "complete",
            "last": _cap(p.get("last_agent_message"), most),
            "error": err.get("message") if err else None,
        }
    if ptype == "turn_aborted":
        return {"k": "end", "ts": ts, "how": "aborted", "reason": p.get("reason")}
    if ptype == "item_completed" and isinstance(p.get("item"), dict):
        fact = _item_fact(p["item"], ts, p, most)
        if fact and fact["k"] == "item" and fact["id"].startswith("exec-") and fs.get("exec"):
            fact["parent"] = fs["exec"][-1]  # code mode: the `exec` cell running it
        return fact
    if ptype == "user_message":
        return {"k": "user", "ts": ts, "text": _cap(p.get("message"), most)}
    if ptype == "patch_apply_end":
        item = {
            "type": "FileChange",
            "id": p.get("call_id"),
            "changes": p.get("changes"),
            "status": "completed" if p.get("success", True) else "failed",
            "stdout": _cap(p.get("stdout"), most),
            "stderr": _cap(p.get("stderr"), most),
        }
        return {"k": "item", "ts": ts, "id": str(p.get("call_id") or ""), "item": item}
    if ptype == "exec_command_end":
        dur = p.get("duration")
        item = {
            "type": "CommandExecution",
            "id": p.get("call_id"),
            "command": p.get("command"),
            "aggregated_output": _cap(p.get("aggregated_output") or p.get("stdout"), most),
            "exit_code": p.get("exit_code"),
            "duration": dur if isinstance(dur, dict) else None,
        }
        return {"k": "item", "ts": ts, "id": str(p.get("call_id") or ""), "item": item}
    if ptype == "token_count" and not fs.get("paginated"):
        # legacy: no token_usage_record; a model response shows as a rise of the total
        info = p.get("info") if isinstance(p.get("info"), dict) else None
        if not info:
            return None
        total = (info.get("total_token_usage") or {}).get("total_tokens")
        if not isinstance(total, int) or total <= int(fs.get("total") or 0):
            return None
        fs["total"] = total
        return {"k": "usage", "ts": ts, "rid": None, "u": info.get("last_token_usage")}
    return None


def _response_item(
    fs: dict[str, Any], p: dict[str, Any], ptype: Any, ts: int, most: int
) -> dict | None:
    if ptype in ("function_call", "custom_tool_call"):
        name = tools.canonical_transcript_name(str(p.get("name") or ""), p.get("namespace"))
        call_id = str(p.get("call_id") or p.get("id") or "")
        if ptype == "custom_tool_call" and name == "exec":
            fs.setdefault("exec", []).append(call_id)
        args = p.get("arguments") if ptype == "function_call" else p.get("input")
        return {"k": "call", "ts": ts, "id": call_id, "name": name, "args": _cap(args, most)}
    if ptype in ("function_call_output", "custom_tool_call_output"):
        call_id = str(p.get("call_id") or "")
        if call_id in fs.get("exec", []):
            fs["exec"].remove(call_id)
        return {"k": "out", "ts": ts, "id": call_id, "out": _cap(p.get("output"), most)}
    if ptype == "web_search_call":
        action = p.get("action") if isinstance(p.get("action"), dict) else {}
        call_id = str(p.get("id") or f"web_search@{ts}")
        return {
            "k": "call",
            "ts": ts,
            "id": call_id,
            "name": "web_search",
            "args": {"query": action.get("query")} if action.get("query") else action,
            "hosted": True,
            "status": p.get("status"),
        }
    if ptype == "message" and p.get("role") == "assistant":
        return {"k": "msg", "ts": ts, "text": _cap(_text(p.get("content"), ("output_text",)), most)}
    if ptype == "message" and p.get("role") in ("user", "developer", "system"):
        # what the model was sent: the prompt, hook prompts, context, and instructions
        text = _text(p.get("content"), ("input_text", "text"))
        return {"k": "in", "ts": ts, "role": p["role"], "text": _cap(text, most)} if text else None
    if ptype == "reasoning":
        summary = p.get("summary") if isinstance(p.get("summary"), list) else []
        text = "\n".join(
            s.get("text", "") for s in summary if isinstance(s, dict) and s.get("text")
        )
        return {"k": "think", "ts": ts, "text": _cap(text, most)} if text else None
    return None
