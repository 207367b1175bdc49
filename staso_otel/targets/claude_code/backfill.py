"""Claude Code transcripts -> the Records its hooks would have written. [targets/claude_code]

`staso import` rebuilds sessions that ran without staso's hooks by synthesising the hook
events the turn kernel (`staso_otel/turns`) needs; it then reads the transcript as it does
live, so an imported turn gets a live turn's ids (trace = session + `promptId`, tool span
= `tool_use_id`, chat span = message id) and its transcript facts:

- SessionStart (source "startup": read from byte 0) at the transcript's first line;
- UserPromptSubmit at a prompt's first user line (`promptId`, the prompt's text);
- Pre/PostToolUse per `tool_use` block and the `tool_result` answering it (timed by the
  transcript: the hooks' exact start and end are not known), PostToolUseFailure for an
  error result;
- Stop where the prompt's last line is (the next prompt, or the end of the file);
- a sub-agent's `subagents/agent-<id>.jsonl` (+ `.meta.json`: type, spawning call) gives
  SubagentStart / its tool events / SubagentStop, keyed by `agent_id`.

Times are the transcript's own timestamps.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from staso_otel.record.journal import Record
from staso_otel.targets import backfill_io, jsonl
from staso_otel.targets.claude_code import transcript

TARGET = "claude-code"
UNKNOWN = ("permission_mode", "tool_start_time", "tool_end_time")
# Lines that only matter to the reducer's own transcript read are not decoded here.
_SKIP = (b'"type":"queue-operation"', b'"type":"api-request')
_ATTACHMENT = b'"type":"attachment"'
# A background task's notification absorbed into the running prompt is an attachment
# (live: a UserPromptSubmit under that prompt's id); other attachments do not matter here.
_QUEUED = b'"queued_command"'
SYNTHETIC_MODEL = "<synthetic>"  # Claude Code's own text for a request the API refused


@dataclass(frozen=True)
class Transcript:
    path: str
    session_id: str
    start_ns: int
    agent_id: str | None = None  # a sub-agent's own transcript
    agent_type: str | None = None


def head(path: str) -> Transcript | None:
    """What a transcript's lines say about it: its session (and sub-agent), from the first
    line that names one; None if none of its first lines does."""
    agent_id = agent_type = None
    folder = os.path.basename(os.path.dirname(path))
    name = os.path.basename(path)
    if folder == "subagents" and name.startswith("agent-"):
        agent_id = name.removeprefix("agent-").removesuffix(".jsonl")
        meta = transcript.agent_meta(path)
        agent_type = meta.get("agentType") if isinstance(meta.get("agentType"), str) else None
    try:
        for line in jsonl.first_lines(path, 64):
            if not isinstance(line, dict) or not isinstance(line.get("sessionId"), str):
                continue
            start = jsonl.parse_ts(line.get("timestamp")) or 0
            if agent_id is not None:
                return Transcript(path, line["sessionId"], start, agent_id, agent_type)
            return Transcript(path, line["sessionId"], start)
    except OSError:
        return None
    return None


# All four in one pass over the line (five `in` scans ran at 1 GB/s, this at 2.5)
_MARKS = re.compile(b"|".join(re.escape(m) for m in (*_SKIP, _ATTACHMENT, _QUEUED)))


def _wanted(raw: bytes) -> bool:
    attachment = queued = False
    for found in _MARKS.finditer(raw):
        mark = found[0]
        if mark == _ATTACHMENT:
            attachment = True
        elif mark == _QUEUED:
            queued = True
        else:
            return False  # one of _SKIP
    return not attachment or queued


def _events(tr: Transcript, stats: dict[str, int]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(time, payload) of the hook events this transcript stands for, in file order."""
    main_path = tr.path
    if tr.agent_id is not None:  # live, a sub-agent's hooks name the session's transcript
        main_path = os.path.dirname(os.path.dirname(tr.path)) + ".jsonl"
    base: dict[str, Any] = {"session_id": tr.session_id, "transcript_path": main_path}
    if tr.agent_id is not None:
        base |= {"agent_id": tr.agent_id, "agent_type": tr.agent_type or "subagent"}
    else:
        yield tr.start_ns, {**base, "hook_event_name": "SessionStart", "source": "startup"}
    prompt: str | None = None
    answer: str | None = None
    failed = False  # the prompt's last answer is an API error: live, no Stop hook fired
    last = tr.start_ns
    calls: dict[str, str] = {}  # tool_use id -> tool name, until its result
    started = False
    for line in backfill_io.scan(tr.path, _wanted, stats):
        t = jsonl.parse_ts(line.get("timestamp"))
        if t is None:
            continue
        kind = line.get("type")
        if line.get("requestSessionId") not in (None, line.get("sessionId")):
            continue  # a fork's copied history: the parent session's, not this one's
        message = line.get("message") if isinstance(line.get("message"), dict) else {}
        if kind == "user" and isinstance(line.get("promptId"), str):
            pid = line["promptId"]
            content = message.get("content")
            if pid != prompt and _is_prompt(line, content):
                if prompt is not None and tr.agent_id is None and not failed:
                    yield last, _stop(base, prompt, answer)
                prompt, answer, failed = pid, None, False
                if tr.agent_id is None:
                    yield (
                        t,
                        {
                            **base,
                            "prompt_id": pid,
                            "hook_event_name": "UserPromptSubmit",
                            "prompt": transcript.text_of(content),
                        },
                    )
                elif not started:
                    started = True
                    yield t, {**base, "prompt_id": pid, "hook_event_name": "SubagentStart"}
            if isinstance(content, list):
                yield from _results(t, content, line, {**base, "prompt_id": prompt}, calls)
        elif kind == "attachment" and prompt is not None and tr.agent_id is None:
            queued = line.get("attachment")
            text = queued.get("prompt") if isinstance(queued, dict) else None
            if isinstance(text, str) and text.startswith("<task-notification>"):
                yield (
                    t,
                    {
                        **base,
                        "prompt_id": prompt,
                        "hook_event_name": "UserPromptSubmit",
                        "prompt": text,
                    },
                )
        elif kind == "assistant" and prompt is not None:
            failed = message.get("model") == SYNTHETIC_MODEL or bool(line.get("isApiErrorMessage"))
            for block in message.get("content") or []:
                if not isinstance(block, dict):
                    continue
                if block.get("type") == "text" and block.get("text"):
                    answer = block["text"]  # whole, as the Stop hook quotes it
                elif block.get("type") == "tool_use" and isinstance(block.get("id"), str):
                    calls[block["id"]] = str(block.get("name") or "")
                    yield (
                        t,
                        {
                            **base,
                            "prompt_id": prompt,
                            "hook_event_name": "PreToolUse",
                            "tool_name": calls[block["id"]],
                            "tool_input": block.get("input"),
                            "tool_use_id": block["id"],
                        },
                    )
        last = max(last, t)
    if prompt is None:
        return
    if tr.agent_id is not None:
        yield (
            last,
            {
                **base,
                "prompt_id": prompt,
                "hook_event_name": "SubagentStop",
                "agent_transcript_path": tr.path,
                "last_assistant_message": answer,
            },
        )
    else:
        if not failed:
            yield last, _stop(base, prompt, answer)
        yield last, {**base, "hook_event_name": "SessionEnd", "reason": "import"}


def _is_prompt(line: dict[str, Any], content: Any) -> bool:
    """A user line that starts a prompt: not a tool result, not Claude Code's own text."""
    if line.get("isMeta") or line.get("isCompactSummary"):
        return False
    if isinstance(content, list) and any(
        isinstance(c, dict) and c.get("type") == "tool_result" for c in content
    ):
        return False
    text = transcript.text_of(content)
    return bool(text) and not text.startswith("<system-reminder>")


def _stop(base: dict[str, Any], prompt: str, answer: str | None) -> dict[str, Any]:
    return {
        **base,
        "prompt_id": prompt,
        "hook_event_name": "Stop",
        "last_assistant_message": answer,
    }


def _results(
    t: int, content: list, line: dict[str, Any], base: dict[str, Any], calls: dict[str, str]
) -> Iterator[tuple[int, dict[str, Any]]]:
    for block in content:
        if not isinstance(block, dict) or block.get("type") != "tool_result":
            continue
        use_id = block.get("tool_use_id")
        if use_id not in calls:
            continue
        hook = {**base, "tool_name": calls.pop(use_id), "tool_use_id": use_id}
        if block.get("is_error") is True:
            yield (
                t,
                {
                    **hook,
                    "hook_event_name": "PostToolUseFailure",
                    "error": transcript.text_of(block.get("content")) or "failed",
                },
            )
        else:
            result = line.get("toolUseResult")
            yield (
                t,
                {
                    **hook,
                    "hook_event_name": "PostToolUse",
                    "tool_response": result if result is not None else block.get("content"),
                },
            )


def records(transcripts: Iterable[Transcript], stats: dict[str, int]) -> Iterator[Record]:
    """One session's Records (its transcript and its sub-agents'), in time order."""
    ordered = sorted(transcripts, key=lambda tr: (tr.agent_id is not None, tr.start_ns))
    return backfill_io.merge(TARGET, (_events(tr, stats) for tr in ordered))


def find(root: str) -> Iterator[str]:
    """Every session transcript under `root` (CLAUDE_CONFIG_DIR/projects) and its
    sub-agents' (`<session>/subagents/agent-*.jsonl`), sorted."""
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        sub = os.path.basename(folder) == "subagents"
        for name in sorted(files):
            if name.endswith(".jsonl") and (not sub or name.startswith("agent-")):
                yield os.path.join(folder, name)
