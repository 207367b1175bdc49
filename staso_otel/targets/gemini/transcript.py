"""Gemini CLI's session transcript, read incrementally. [targets/gemini]

The CLI records each session as JSON lines in `~/.gemini/tmp/<project>/chats/session-
<start>-<id8>.jsonl` (the hooks' `transcript_path`): a metadata line ({sessionId,
projectHash, startTime, kind}, again on each --resume), `{"$set": {...}}` updates (a
`messages` one rewrites the history: read as nothing new), `{"$rewindTo": id}` and one
line per message record, `{id, timestamp, type, content, ...}`, written again whole when
the record grows (a response gains its `toolCalls` once they ran): the last line of an id
wins. A response (`type: "gemini"`) carries what no hook does: `tokens` {input, output,
cached, thoughts, tool, total}, `model`, `thoughts` and `toolCalls` [{id, name, args,
result, status, timestamp}]; user records carry the prompt or the function responses.

Turns run one at a time, so the lines read when a turn closes, up to a little past the
event that closed it (jsonl.READ_AHEAD_NS), are that turn's; lines older than its start
(the session context, earlier turns of a file first seen mid-session) are not.
"""

from __future__ import annotations

from typing import Any

from staso_otel.targets import jsonl


def empty() -> dict[str, Any]:
    return {"msgs": {}, "user": []}


def _text(content: Any) -> str | None:
    if isinstance(content, str):
        return content or None
    if isinstance(content, list):
        texts = [
            p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)
        ]
        return "".join(texts) or None
    return None


def _results(content: Any, most: int) -> list[dict[str, Any]]:
    out = []
    for part in content if isinstance(content, list) else []:
        r = part.get("functionResponse") if isinstance(part, dict) else None
        if isinstance(r, dict):
            out.append(
                {
                    "id": r.get("id"),
                    "name": r.get("name"),
                    "response": jsonl.cap(r.get("response"), most),
                }
            )
    return out


def _call(c: dict[str, Any], most: int) -> dict[str, Any]:
    return {
        "id": c.get("id"),
        "name": c.get("name"),
        "args": jsonl.cap(c.get("args"), most),
        "status": c.get("status"),
        "ts": jsonl.parse_ts(c.get("timestamp")),
        "result": jsonl.cap(_results(c.get("result"), most), most),
    }


def ingest(facts: dict[str, Any], lines: list[dict[str, Any]], since: int, most: int) -> None:
    """Fold transcript lines into `facts`, keeping records stamped at or after `since`
    and content up to `most` characters a value."""
    for line in lines:
        # a `$set` of `messages` rewrites the history (the session context at start; the
        # whole conversation again, without tokens or calls, on --resume): nothing new
        if isinstance(line.get("id"), str) and "$set" not in line:
            _record(facts, line, since, most)


def _record(facts: dict[str, Any], rec: dict[str, Any], since: int, most: int) -> None:
    ts = jsonl.parse_ts(rec.get("timestamp"))
    if ts is None or ts < since:
        return
    kind = rec.get("type")
    if kind == "gemini":
        calls = rec.get("toolCalls")
        thoughts = rec.get("thoughts")
        facts["msgs"][rec["id"]] = {
            "ts": ts,
            "model": rec.get("model") if isinstance(rec.get("model"), str) else None,
            "text": (_text(rec.get("content")) or "")[:most] or None,
            "thoughts": [
                str(t.get("description") or t.get("subject") or "")[:most]
                for t in thoughts
                if isinstance(t, dict)
            ]
            if isinstance(thoughts, list)
            else [],
            "tokens": rec.get("tokens") if isinstance(rec.get("tokens"), dict) else None,
            "calls": [_call(c, most) for c in calls if isinstance(c, dict)]
            if isinstance(calls, list)
            else [],
        }
    elif kind == "user":
        user = facts["user"]
        if any(u["id"] == rec["id"] for u in user):
            return
        text = _text(rec.get("content"))
        user.append(
            {
                "id": rec["id"],
                "ts": ts,
                "text": text[:most] if text else None,
                "results": _results(rec.get("content"), most),
            }
        )
    elif kind == "error" and isinstance(rec.get("content"), (str, list)):
        facts["error"] = {"ts": ts, "text": (_text(rec.get("content")) or "")[:most]}


def read(fstate: dict[str, Any], path: str, until_ns: int, since: int, most: int) -> dict[str, Any]:
    """The facts of the lines from the remembered offset up to `until_ns` (content kept up
    to `most` characters a value); moves it on."""
    facts = empty()
    for lines, end in jsonl.read_chunks(path, fstate.get("off", 0), until_ns):
        ingest(facts, lines, since, most)
        fstate["off"] = end
    return facts
