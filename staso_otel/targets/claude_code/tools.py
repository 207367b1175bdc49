"""Claude Code tools -> SPEC category and the tool's own facts. [targets/claude_code]

Claude Code's tools are mapped onto the categories Codex's already use, with the same
facts per category, so a backend query or the viewer treats `Bash` like `exec_command`
and an `Edit` like an `apply_patch`: command, stdout, exit code and wall time; a unified
diff per file with +/- counts; todo lists as plan steps; sub-agents by id and task.

Facts come from what is known for the call: the tool input, the hook's structured
`tool_response` (PostToolUse), the failure text (PostToolUseFailure: `"Exit code 3\\n…"`),
or the model-visible result (PostToolBatch, the transcript's tool_result).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from staso_otel import semconv as sc
from staso_otel.targets import diffs
from staso_otel.targets.toolfacts import ToolFacts

CATEGORIES: dict[str, str] = {
    **dict.fromkeys(("Bash", "BashOutput", "KillShell", "KillBash", "PowerShell"),
                    sc.CATEGORY_SHELL),
    **dict.fromkeys(("Read", "Write", "Edit", "MultiEdit", "NotebookEdit", "NotebookRead",
                     "Glob", "Grep", "LS"), sc.CATEGORY_FILE),
    **dict.fromkeys(("TodoWrite", "TodoRead", "ExitPlanMode", "EnterPlanMode",
                     "AskUserQuestion", "TaskCreate", "TaskUpdate", "TaskList", "TaskGet"),
                    sc.CATEGORY_PLANNING),
    **dict.fromkeys(("Task", "Agent", "SendMessage", "TaskOutput", "TaskStop"),
                    sc.CATEGORY_MULTI_AGENT),
    **dict.fromkeys(("WebFetch", "WebSearch", "ToolSearch", "ListMcpResourcesTool",
                     "ReadMcpResourceTool", "Skill", "CronCreate", "CronDelete", "CronList",
                     "EnterWorktree", "ExitWorktree"), sc.CATEGORY_SYSTEM),
}  # fmt: skip
AGENT_TOOLS = frozenset({"Task", "Agent"})
HOSTED = frozenset({"web_search", "web_fetch", "code_execution"})  # server_tool_use names

_EXIT = re.compile(r"^Exit code (-?\d+)\s*\n?(.*)\Z", re.S)
_NOTE_TAG = re.compile(r"<(tool-use-id|task-id|status)>([^<]*)</\1>")
_NOTE_EXIT = re.compile(r"exit code (-?\d+)", re.I)
TASK_NOTIFICATION = "<task-notification>"


def background_note(prompt: Any) -> dict[str, Any] | None:
    """The facts of a `<task-notification>` prompt (a background shell or sub-agent
    finished): {"call": launching tool_use_id, "task", "status", "exit": int | None};
    None for any other prompt. Tags a newer release drops just leave their field None."""
    if not isinstance(prompt, str) or not prompt.lstrip().startswith(TASK_NOTIFICATION):
        return None
    tags = dict(_NOTE_TAG.findall(prompt))
    code = _NOTE_EXIT.search(prompt)
    return {
        "call": tags.get("tool-use-id") or None,
        "task": tags.get("task-id") or None,
        "status": tags.get("status") or None,
        "exit": int(code.group(1)) if code else None,
    }


def category(name: str) -> str:
    if name.startswith("mcp__"):
        return sc.CATEGORY_MCP
    return CATEGORIES.get(name, sc.CATEGORY_OTHER)


def tool_type(name: str) -> str:
    if name.startswith("mcp__"):
        return sc.TOOL_TYPE_EXTENSION
    return sc.TOOL_TYPE_FUNCTION


def result_text(value: Any) -> str | None:
    """A model-visible tool result (string or content blocks) as text."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        parts = [b.get("text", "") for b in value if isinstance(b, dict) and "text" in b]
        if parts:
            return "\n".join(parts)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class Outcome:
    """How one call ended, from the hooks (or, for calls that never ran, the result)."""

    response: Any = None  # PostToolUse tool_response (structured, tool-specific)
    failure: str | None = None  # PostToolUseFailure error text
    interrupted: bool = False
    duration_ms: int | None = None
    visible: Any = None  # what the model saw (PostToolBatch / transcript tool_result)
    ran: bool = True  # False: blocked, denied or rejected before it executed
    permission_requested: bool = False
    is_error: bool = False  # the transcript's tool_result.is_error
    background: dict[str, Any] | None = None  # a background task's end: {status, exit}


def not_run_reason(o: Outcome) -> tuple[str, str]:
    """(error.type, message) for a call that never executed."""
    text = result_text(o.visible) or ""
    if "hook error" in text or "blocked" in text.lower():
        return "blocked", text or "blocked by a PreToolUse hook"
    if o.permission_requested or "permission" in text.lower() or "approval" in text:
        return "permission_denied", text or "permission denied"
    if "<tool_use_error>" in text:
        return "tool_use_error", text
    return "not_run", text or "the call never ran"


def facts(name: str, args: Any, o: Outcome, cwd: str | None = None) -> ToolFacts:
    """The tool's own facts (SPEC "Tool categories") and whether it failed."""
    out = ToolFacts()
    a = args if isinstance(args, dict) else {}
    if not o.ran:
        out.error_type, out.error_message = not_run_reason(o)
        out.attrs[sc.STASO_TOOL_EXECUTED] = False
        if out.error_type == "blocked":
            out.attrs[sc.STASO_TOOL_BLOCKED] = True
    elif o.interrupted:
        out.error_type, out.error_message = "interrupted", o.failure or "interrupted"
    elif o.failure is not None:
        out.error_type, out.error_message = "failed", o.failure
    elif o.is_error:
        out.error_type, out.error_message = "failed", result_text(o.visible)
    if o.permission_requested:
        out.attrs[sc.STASO_TOOL_PERMISSION_REQUESTED] = True
    cat = category(name)
    if cat == sc.CATEGORY_SHELL:
        _shell(out, name, a, o)
    elif cat == sc.CATEGORY_FILE:
        _file(out, name, a, o, cwd)
    elif cat == sc.CATEGORY_PLANNING:
        _planning(out, name, a, o.response if o.ran else None)
    elif cat == sc.CATEGORY_MULTI_AGENT:
        _agent(out, a, o.response)
    elif cat == sc.CATEGORY_MCP:
        _mcp(out, name, o)
    elif cat == sc.CATEGORY_SYSTEM:
        _system(out, name, a, o)
    return out


def _shell(out: ToolFacts, name: str, a: dict, o: Outcome) -> None:
    r = o.response if isinstance(o.response, dict) else {}
    out.attrs[sc.STASO_SHELL_COMMAND] = a.get("command")
    stdout, stderr = r.get("stdout"), r.get("stderr")
    exit_code: int | None = 0 if o.ran and o.failure is None and r and name == "Bash" else None
    background = bool(r.get("backgroundTaskId")) or a.get("run_in_background") is True
    if background and o.ran and o.failure is None:
        # PostToolUse means "launched": the exit code is only known when the task ends
        out.attrs[sc.STASO_SHELL_BACKGROUND] = True
        done = o.background or {}
        exit_code = done.get("exit") if isinstance(done.get("exit"), int) else None
        out.attrs[sc.STASO_SHELL_BACKGROUND_STATUS] = done.get("status")
        if exit_code and out.error_type is None:
            out.error_type, out.error_message = "exit_code", f"exit code {exit_code}"
    if o.failure is not None and (m := _EXIT.match(o.failure)):
        exit_code = int(m.group(1))
        stderr = stderr or m.group(2)
        if out.error_type == "failed":
            out.error_type, out.error_message = "exit_code", f"exit code {exit_code}"
    if stdout is None and o.ran and o.failure is None:
        stdout = result_text(o.visible)
    out.attrs[sc.STASO_SHELL_STDOUT] = stdout
    out.attrs[sc.STASO_SHELL_STDERR] = stderr
    out.attrs[sc.STASO_SHELL_EXIT_CODE] = exit_code
    if o.duration_ms is not None:
        out.attrs[sc.STASO_SHELL_WALL_TIME_S] = o.duration_ms / 1000
    task = r.get("backgroundTaskId") or a.get("bash_id") or a.get("shell_id")
    out.attrs[sc.STASO_SHELL_PTY_SESSION_ID] = str(task) if task else None
    if r.get("interrupted") is True and out.error_type is None:
        out.error_type, out.error_message = "interrupted", "command interrupted"


def _relative(path: str, cwd: str | None) -> str:
    if cwd and path.startswith(cwd.rstrip("/") + "/"):
        return path[len(cwd.rstrip("/")) + 1 :]
    return path.lstrip("/")


def _file(out: ToolFacts, name: str, a: dict, o: Outcome, cwd: str | None) -> None:
    r = o.response if isinstance(o.response, dict) else {}
    path = a.get("file_path") or a.get("notebook_path") or r.get("filePath")
    if name in ("Glob", "Grep", "LS"):
        out.attrs[sc.STASO_SEARCH_QUERY] = a.get("pattern") or a.get("path")
        files = r.get("filenames")
        if isinstance(files, list):
            out.attrs[sc.STASO_FILE_LISTING] = "\n".join(str(f) for f in files)
        elif o.ran:
            out.attrs[sc.STASO_FILE_LISTING] = r.get("content") or result_text(o.visible)
        return
    if not isinstance(path, str):
        return
    out.attrs[sc.STASO_FILE_PATHS] = [path]
    if name in ("Read", "NotebookRead"):
        return
    diff, kind = _diff(name, a, r, o, _relative(path, cwd))
    if diff is None:
        return
    applied = o.ran and o.failure is None
    diffs.put_changes(out.attrs, [diffs.Change(path, kind, diff)], applied)


def _diff(name: str, a: dict, r: dict, o: Outcome, rel: str) -> tuple[str | None, str]:
    """The edit as a unified diff: the tool's own hunks when it reported them (the edit
    happened), else computed from the input (a call that failed or never ran: the diff
    says what was attempted)."""
    if r.get("type") == "create" and isinstance(r.get("content"), str):
        return diffs.created(rel, r["content"]), "add"
    hunks = r.get("structuredPatch")
    if isinstance(hunks, list) and hunks:
        return diffs.from_hunks(rel, [h for h in hunks if isinstance(h, dict)]), "update"
    if name == "Write" and isinstance(a.get("content"), str):
        original = r.get("originalFile")
        if isinstance(original, str):
            return diffs.between(rel, original, a["content"]), "update"
        return diffs.created(rel, a["content"]), "add"
    edits = a.get("edits") if name == "MultiEdit" else [a]
    if isinstance(edits, list):
        parts = [
            diffs.between(rel, e["old_string"], e["new_string"])
            for e in edits
            if isinstance(e, dict)
            and isinstance(e.get("old_string"), str)
            and isinstance(e.get("new_string"), str)
        ]
        if parts:
            return "".join(parts), "update"
    if name == "NotebookEdit" and isinstance(a.get("new_source"), str):
        return diffs.between(rel, "", a["new_source"]), "update"
    return None, "update"


def _planning(out: ToolFacts, name: str, a: dict, response: Any) -> None:
    r = response if isinstance(response, dict) else {}
    if name == "TodoWrite" and isinstance(a.get("todos"), list):
        out.attrs[sc.STASO_PLAN_STEPS] = [
            {"step": t.get("content"), "status": t.get("status")}
            for t in a["todos"]
            if isinstance(t, dict)
        ]
    elif name in ("TaskCreate", "TaskUpdate", "TaskGet", "TaskList"):
        # only what happened: a call that never ran created or changed no task
        out.attrs[sc.STASO_PLAN_STEPS] = (_task_steps(name, a, r) or None) if r else None
    elif name == "ExitPlanMode":
        out.attrs[sc.STASO_PLAN_EXPLANATION] = a.get("plan")
    elif name == "AskUserQuestion":
        out.attrs[sc.STASO_PLAN_QUESTIONS] = a.get("questions")


def _task_step(task: dict, status: Any = None) -> dict[str, Any]:
    ident = task.get("id") if task.get("id") is not None else task.get("taskId")
    step = task.get("subject") or (f"task {ident}" if ident is not None else None)
    return {"step": step, "status": status or task.get("status"), "id": ident}


def _task_steps(name: str, a: dict, r: dict) -> list[dict[str, Any]]:
    """The Task* tools (the to-do tools of current models; one task per call, TaskList
    all of them) as plan steps: what the call created, changed or listed."""
    if name == "TaskList":
        tasks = r.get("tasks")
        return (
            [_task_step(t) for t in tasks if isinstance(t, dict)] if isinstance(tasks, list) else []
        )
    task = r.get("task") if isinstance(r.get("task"), dict) else {}
    if name == "TaskCreate":
        return [_task_step({**a, **task}, "pending")] if a or task else []
    if name == "TaskUpdate":
        change = r.get("statusChange") if isinstance(r.get("statusChange"), dict) else {}
        status = change.get("to") or a.get("status")
        return [_task_step({**a, **task}, status)] if a or task else []
    return [_task_step(task)] if task else []  # TaskGet


def _agent(out: ToolFacts, a: dict, response: Any) -> None:
    r = response if isinstance(response, dict) else {}
    agent_id = r.get("agentId")
    out.attrs[sc.STASO_AGENT_IDS] = [str(agent_id)] if agent_id else None
    out.attrs[sc.STASO_AGENT_TASK_NAME] = a.get("description") or r.get("description")
    out.attrs[sc.STASO_AGENT_MESSAGE] = a.get("prompt")
    out.attrs[sc.STASO_AGENT_TYPE] = a.get("subagent_type")
    out.attrs[sc.STASO_AGENT_TARGET] = a.get("to") if isinstance(a.get("to"), str) else None
    if isinstance(r.get("status"), str):
        out.attrs[sc.STASO_AGENT_WAIT_STATUS] = r["status"]
    if isinstance(r.get("isAsync"), bool):
        out.attrs[sc.STASO_AGENT_ASYNC] = r["isAsync"]


def mcp_parts(name: str) -> tuple[str, str] | None:
    if not name.startswith("mcp__"):
        return None
    server, _, tool = name[5:].partition("__")
    return (server, tool) if tool else None


def _mcp(out: ToolFacts, name: str, o: Outcome) -> None:
    parts = mcp_parts(name)
    if parts:
        out.attrs[sc.STASO_MCP_SERVER], out.attrs[sc.STASO_MCP_TOOL] = parts
    out.attrs[sc.STASO_MCP_IS_ERROR] = o.failure is not None or o.is_error


def _system(out: ToolFacts, name: str, a: dict, o: Outcome) -> None:
    if name == "WebSearch" or name == "ToolSearch":
        out.attrs[sc.STASO_SEARCH_QUERY] = a.get("query")
        out.attrs[sc.STASO_SEARCH_RESULTS] = result_text(o.visible) if o.ran else None
    elif name == "WebFetch":
        out.attrs[sc.STASO_WEB_URL] = a.get("url")
    elif name == "Skill":
        out.attrs[sc.STASO_SKILL_NAME] = a.get("skill") or a.get("command")
