"""Codex tool names -> canonical tool, category and the tool's own facts. [targets/codex]

Hooks and transcripts name tools differently: the hook says `Bash` for exec_command, glues
a namespace onto the name (`collaborationspawn_agent`, `multi_agent_v1wait_agent`) and
spells MCP tools `mcp__<server>__<tool>`; the rollout has `name` + `namespace`. Facts come
from whatever is known: the arguments, the result text, and the transcript's structured
`item_completed` record (exit codes and diffs exist only there).
"""

from __future__ import annotations

import json
import re
from typing import Any

from staso_otel import semconv as sc
from staso_otel.targets.diffs import Change, put_changes
from staso_otel.targets.toolfacts import ToolFacts

HOOK_ALIASES = {"Bash": "exec_command", "Edit": "apply_patch", "Write": "apply_patch"}
NAMESPACES = ("multi_agent_v1", "multi_agent_v2", "collaboration", "functions", "clock")

CATEGORIES: dict[str, str] = {
    **dict.fromkeys(("exec_command", "write_stdin", "shell", "shell_command", "local_shell"),
                    sc.CATEGORY_SHELL),
    **dict.fromkeys(("apply_patch", "list_dir"), sc.CATEGORY_FILE),
    **dict.fromkeys(("exec", "js_repl", "js_repl_reset", "wait"), sc.CATEGORY_CODE),
    **dict.fromkeys(("update_plan", "request_user_input", "request_user_input_async"),
                    sc.CATEGORY_PLANNING),
    **dict.fromkeys(
        (
            "spawn_agent", "send_message", "send_input", "followup_task", "wait_agent",
            "close_agent", "list_agents", "interrupt_agent", "resume_agent",
        ),
        sc.CATEGORY_MULTI_AGENT,
    ),
    **dict.fromkeys(("spawn_agents_on_csv", "report_agent_job_result"), sc.CATEGORY_BATCH),
    **dict.fromkeys(
        (
            "view_image", "tool_search", "tool_suggest", "request_permissions", "create_goal",
            "get_goal", "update_goal", "list_mcp_resources", "list_mcp_resource_templates",
            "read_mcp_resource", "web_search", "sleep", "clock__curr_time",
        ),
        sc.CATEGORY_SYSTEM,
    ),
}  # fmt: skip

_EXIT = re.compile(r"(?:Process exited with code|Exit code:)\s*(-?\d+)")
_WALL = re.compile(r"Wall time:\s*([0-9.]+)\s*seconds")
_RUNNING = re.compile(r"Process running with session ID\s*(\d+)")
_OUTPUT = re.compile(r"\nOutput:\n?(.*)\Z", re.S)


def canonical_hook_name(hook_name: str) -> str:
    """`Bash` -> exec_command, `collaborationspawn_agent` -> spawn_agent, MCP kept whole."""
    if hook_name in HOOK_ALIASES:
        return HOOK_ALIASES[hook_name]
    if hook_name.startswith("mcp__"):
        return hook_name
    for ns in NAMESPACES:
        if hook_name.startswith(ns) and len(hook_name) > len(ns):
            return hook_name[len(ns) :]
    return hook_name


def canonical_transcript_name(name: str, namespace: str | None) -> str:
    """Rollout `name` + `namespace`: MCP tools become `mcp__<server>__<tool>`."""
    if namespace and namespace.startswith("mcp__"):
        return f"{namespace}__{name}"
    return name


def mcp_parts(name: str) -> tuple[str, str] | None:
    if not name.startswith("mcp__"):
        return None
    server, _, tool = name[5:].partition("__")
    return (server, tool) if tool else None


def category(name: str) -> str:
    if name.startswith("mcp__"):
        return sc.CATEGORY_MCP
    return CATEGORIES.get(name, sc.CATEGORY_OTHER)


def tool_type(name: str) -> str:
    return sc.TOOL_TYPE_EXTENSION if name.startswith("mcp__") else sc.TOOL_TYPE_FUNCTION


def parse_json(value: Any) -> Any:
    """A JSON string decoded, anything else as is."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def output_text(output: Any) -> str | None:
    """Tool output as text: strings as is, `input_text` item lists joined."""
    if output is None:
        return None
    if isinstance(output, str):
        return output
    if isinstance(output, list):
        parts = [i.get("text", "") for i in output if isinstance(i, dict) and "text" in i]
        if parts:
            return "\n".join(parts)
    if isinstance(output, dict) and isinstance(output.get("output"), str):
        return output["output"]
    return json.dumps(output, ensure_ascii=False, separators=(",", ":"))


# What Codex answers, instead of running a call, when it refuses one (the model sees it as
# the call's output): the router knows no such tool, a PreToolUse hook blocked it (exit 2 or
# JSON deny), or the user / approval policy said no.
_REFUSALS = (
    ("unsupported call", "unsupported_call"),
    ("unsupported custom tool call", "unsupported_call"),
    # apply_patch checks a patch against the files before it writes anything
    ("apply_patch verification failed", "verification_failed"),
)
_REFUSAL_PARTS = (
    ("blocked by PreToolUse hook", "blocked"),
    ("Rejected(", "rejected"),  # a PermissionRequest denied: CreateProcess { "Rejected(..)" }
    ("rejected by user", "rejected"),
    ("user rejected", "rejected"),
    ("user cancelled", "rejected"),
)


def refusal(text: str | None) -> tuple[str, str] | None:
    """(error.type, message) when `text` is Codex saying it did not run the call."""
    if not isinstance(text, str):
        return None
    head = text.lstrip()
    for prefix, kind in _REFUSALS:
        if head.startswith(prefix):
            return kind, text
    for part, kind in _REFUSAL_PARTS:
        if part in head[:500]:
            return kind, text
    return None


def facts(
    name: str,
    arguments: Any,
    result: Any,
    item: dict[str, Any] | None = None,
    transcript_output: Any = None,
    cwd: str | None = None,
) -> ToolFacts:
    """The tool's own facts (SPEC "Tool categories") and whether it failed.

    `arguments` is a dict (or the raw text of a freeform tool), `result` what the hook got
    back, `transcript_output` the rollout's function_call_output, `item` the rollout's
    `item_completed.item` for this call id (CommandExecution, FileChange, McpToolCall …);
    `cwd` makes diff headers relative, as `git diff` shows them.
    """
    out = ToolFacts()
    args = parse_json(arguments)
    text = output_text(transcript_output)
    if text is None:
        text = output_text(result)
    refused = refusal(text)
    if refused is not None:
        out.error_type, out.error_message = refused
        out.attrs[sc.STASO_TOOL_EXECUTED] = False
        if refused[0] == "blocked":
            out.attrs[sc.STASO_TOOL_BLOCKED] = True
    elif isinstance(text, str) and "aborted by user" in text[:500]:
        out.error_type, out.error_message = "interrupted", text  # it ran, and was stopped
    cat = category(name)
    if cat == sc.CATEGORY_SHELL:
        _shell(out, name, args, result, text, item)
    elif name == "apply_patch":
        _patch(out, args, text, item, cwd)
    elif name == "list_dir":
        out.attrs[sc.STASO_FILE_LISTING] = text
    elif cat == sc.CATEGORY_CODE:
        out.attrs[sc.STASO_CODE_SOURCE] = args if isinstance(args, str) else None
        out.attrs[sc.STASO_CODE_LANGUAGE] = "javascript" if name in ("exec", "js_repl") else None
        out.attrs[sc.STASO_CODE_RESULT] = text
    elif cat == sc.CATEGORY_PLANNING:
        _planning(out, name, args)
    elif cat == sc.CATEGORY_MULTI_AGENT:
        _multi_agent(out, name, args, parse_json(result if result is not None else text), item)
    elif cat == sc.CATEGORY_BATCH and isinstance(args, dict):
        out.attrs[sc.STASO_BATCH_CSV_PATH] = args.get("csv_path")
        out.attrs[sc.STASO_BATCH_CONCURRENCY] = args.get("max_concurrency")
        out.attrs[sc.STASO_BATCH_RESULT] = args.get("result") or text
    elif cat == sc.CATEGORY_MCP:
        _mcp(out, name, result, item)
    elif cat == sc.CATEGORY_SYSTEM:
        _system(out, name, args, text, item)
    return out


def _shell(
    out: ToolFacts, name: str, args: Any, result: Any, text: str | None, item: dict | None
) -> None:
    a = args if isinstance(args, dict) else {}
    command = a.get("cmd") or a.get("command")
    exit_code = wall = None
    stdout = result if isinstance(result, str) else None
    session = a.get("session_id") if name == "write_stdin" else None
    if isinstance(text, str):
        if m := _EXIT.search(text):
            exit_code = int(m.group(1))
        if m := _WALL.search(text):
            wall = float(m.group(1))
        if m := _RUNNING.search(text):
            session = int(m.group(1))
        if stdout is None and (m := _OUTPUT.search(text)):
            stdout = m.group(1)
    if item and item.get("type") == "CommandExecution":
        argv = item.get("command")
        if command is None and isinstance(argv, list) and argv:
            command = argv[-1]
        if item.get("aggregated_output") is not None:
            stdout = item["aggregated_output"]
        if item.get("exit_code") is not None:
            exit_code = int(item["exit_code"])
        duration = item.get("duration")
        if isinstance(duration, dict):
            wall = duration.get("secs", 0) + duration.get("nanos", 0) / 1e9
        cwd = item.get("cwd")
        if isinstance(cwd, str):
            out.attrs[sc.STASO_SHELL_CWD] = cwd.removeprefix("file://")
        if item.get("status") == "failed" and exit_code in (None, 0):
            out.error_type = out.error_type or "failed"
    if isinstance(command, list):
        command = " ".join(str(c) for c in command)
    out.attrs[sc.STASO_SHELL_COMMAND] = command
    out.attrs[sc.STASO_SHELL_STDOUT] = stdout
    out.attrs[sc.STASO_SHELL_EXIT_CODE] = exit_code
    out.attrs[sc.STASO_SHELL_WALL_TIME_S] = wall
    out.attrs[sc.STASO_SHELL_PTY_SESSION_ID] = None if session is None else str(session)
    if exit_code not in (None, 0) and out.error_type is None:
        out.error_type, out.error_message = "exit_code", f"exit code {exit_code}"


def _file_diff(path: str, kind: str, change: dict[str, Any]) -> str:
    content = change.get("content")
    body = change.get("unified_diff")
    if kind == "add" and isinstance(content, str):
        lines = content.splitlines()
        hunk = "".join(f"+{x}\n" for x in lines)
        return f"--- /dev/null\n+++ b/{path}\n@@ -0,0 +1,{len(lines)} @@\n{hunk}"
    if kind == "delete":
        lines = content.splitlines() if isinstance(content, str) else []
        hunk = "".join(f"-{x}\n" for x in lines)
        return f"--- a/{path}\n+++ /dev/null\n@@ -1,{len(lines)} +0,0 @@\n{hunk}"
    target = change.get("move_path") or path
    return f"--- a/{path}\n+++ b/{target}\n{body or ''}"


def parse_patch(text: str) -> dict[str, dict[str, Any]]:
    """`*** Begin Patch` text -> {path: {type, unified_diff|content}} (no transcript needed)."""
    changes: dict[str, dict[str, Any]] = {}
    current: dict[str, Any] | None = None
    for line in text.splitlines():
        header = re.match(r"\*\*\* (Add|Update|Delete) File: (.+)", line)
        if header:
            kind = {"Add": "add", "Update": "update", "Delete": "delete"}[header.group(1)]
            current = {"type": kind, "lines": []}
            changes[header.group(2).strip()] = current
        elif line.startswith("*** Move to: ") and current is not None:
            current["move_path"] = line[len("*** Move to: ") :].strip()
        elif line.startswith("*** ") or current is None:
            continue
        else:
            current["lines"].append(line)
    for change in changes.values():
        lines = change.pop("lines")
        if change["type"] == "add":
            change["content"] = "".join(x[1:] + "\n" for x in lines if x.startswith("+"))
        elif change["type"] == "update":
            change["unified_diff"] = "".join(x + "\n" for x in lines)
    return changes


def _relative(path: str, cwd: str | None) -> str:
    if cwd and path.startswith(cwd.rstrip("/") + "/"):
        return path[len(cwd.rstrip("/")) + 1 :]
    return path.lstrip("/")


def _patch(out: ToolFacts, args: Any, text: str | None, item: dict | None, cwd: str | None) -> None:
    changes: dict[str, Any] | None = None
    if item and isinstance(item.get("changes"), dict):
        changes = item["changes"]
        if item.get("status") == "failed":
            out.error_type = out.error_type or "failed"
            out.error_message = item.get("stderr") or item.get("stdout")
    patch = args.get("command") or args.get("input") if isinstance(args, dict) else args
    exit_code = None
    if isinstance(text, str):
        parsed = parse_json(text)
        if isinstance(parsed, dict) and isinstance(parsed.get("metadata"), dict):
            exit_code = parsed["metadata"].get("exit_code")
        elif m := _EXIT.search(text):
            exit_code = int(m.group(1))
    if exit_code not in (None, 0) and out.error_type is None:
        out.error_type, out.error_message = "exit_code", text
    # no FileChange record (older Codex): the patch text is what Codex applied, but only
    # once it said so; a refused, failed or unanswered patch changed nothing
    said_so = isinstance(text, str) and (exit_code == 0 or "Success" in text)
    if changes is None and said_so and isinstance(patch, str) and "*** Begin Patch" in patch:
        changes = parse_patch(patch)
    if not changes:
        return
    if out.error_type is not None:  # nothing applied: name the files, claim no diff
        out.attrs[sc.STASO_FILE_PATHS] = [p for p in changes if isinstance(p, str)]
        return
    files = []
    for path, change in changes.items():
        if not isinstance(change, dict):
            continue
        kind = str(change.get("type") or "update")
        diff = _file_diff(_relative(path, cwd), kind, change)
        files.append(Change(path, kind, diff, change.get("move_path") or None))
    put_changes(out.attrs, files, applied=True)


def _planning(out: ToolFacts, name: str, args: Any) -> None:
    if not isinstance(args, dict):
        return
    if name == "update_plan":
        steps = [
            {"step": s.get("step"), "status": s.get("status")}
            for s in args.get("plan") or []
            if isinstance(s, dict)
        ]
        out.attrs[sc.STASO_PLAN_STEPS] = steps
        out.attrs[sc.STASO_PLAN_EXPLANATION] = args.get("explanation")
    else:
        out.attrs[sc.STASO_PLAN_QUESTIONS] = args.get("questions")


def _multi_agent(
    out: ToolFacts, name: str, args: Any, result: Any, item: dict | None = None
) -> None:
    a = args if isinstance(args, dict) else {}
    r = result if isinstance(result, dict) else {}
    ids: list[str] = []
    for key in ("targets", "target", "id", "agent_id"):
        value = a.get(key)
        ids += [str(v) for v in value] if isinstance(value, list) else [str(value)] * bool(value)
    if r.get("agent_id"):
        ids.append(str(r["agent_id"]))
    # multi-agent v2 answers a spawn with a task name only; the rollout's SubAgentActivity
    # (and CollabAgentToolCall) records name the thread
    it = item or {}
    if isinstance(it.get("agent_thread_id"), str):
        ids.append(it["agent_thread_id"])
        out.attrs[sc.CODEX_AGENT_PATH] = it.get("agent_path")
    receivers = it.get("receiver_thread_ids")
    if isinstance(receivers, list):
        ids += [str(x) for x in receivers if x]
    status = r.get("status")
    if isinstance(status, dict):
        ids += [str(k) for k in status]
        states = {
            str(k): next(iter(v)) if isinstance(v, dict) and v else v for k, v in status.items()
        }
        out.attrs[sc.STASO_AGENT_WAIT_STATUS] = states
    out.attrs[sc.STASO_AGENT_IDS] = list(dict.fromkeys(ids))
    out.attrs[sc.STASO_AGENT_TASK_NAME] = a.get("task_name") or r.get("task_name")
    out.attrs[sc.STASO_AGENT_MESSAGE] = a.get("message")
    target = a.get("target")
    out.attrs[sc.STASO_AGENT_TARGET] = target if isinstance(target, str) else None
    out.attrs[sc.CODEX_AGENT_NICKNAME] = r.get("nickname")
    if isinstance(r.get("timed_out"), bool):
        out.attrs[sc.STASO_AGENT_TIMED_OUT] = r["timed_out"]


def _mcp(out: ToolFacts, name: str, result: Any, item: dict | None) -> None:
    parts = mcp_parts(name)
    if parts:
        out.attrs[sc.STASO_MCP_SERVER], out.attrs[sc.STASO_MCP_TOOL] = parts
    res = result if isinstance(result, dict) else None
    if item and item.get("type") == "McpToolCall":
        out.attrs[sc.STASO_MCP_SERVER] = item.get("server") or out.attrs.get(sc.STASO_MCP_SERVER)
        out.attrs[sc.STASO_MCP_TOOL] = item.get("tool") or out.attrs.get(sc.STASO_MCP_TOOL)
        if isinstance(item.get("result"), dict):
            res = item["result"]
        if item.get("status") == "failed":
            out.error_type = out.error_type or "failed"
    if res is not None and isinstance(res.get("isError"), bool):
        out.attrs[sc.STASO_MCP_IS_ERROR] = res["isError"]
        if res["isError"] and out.error_type is None:
            out.error_type, out.error_message = "mcp_error", output_text(res.get("content"))


def _system(out: ToolFacts, name: str, args: Any, text: str | None, item: dict | None) -> None:
    a = args if isinstance(args, dict) else {}
    if name == "view_image":
        path = a.get("path")
        if item and item.get("type") == "ImageView" and isinstance(item.get("path"), str):
            path = item["path"].removeprefix("file://")
        out.attrs[sc.STASO_IMAGE_PATH] = path
    elif name == "web_search":
        query = a.get("query")
        if item and item.get("type") == "WebSearch":
            query = item.get("query") or query
        out.attrs[sc.STASO_SEARCH_QUERY] = query
    elif name == "tool_search":
        out.attrs[sc.STASO_SEARCH_QUERY] = a.get("query")
        out.attrs[sc.STASO_SEARCH_RESULTS] = text
    elif name == "request_permissions":
        out.attrs[sc.STASO_PERMISSION_SCOPES] = a.get("permissions") or a.get("scopes")
