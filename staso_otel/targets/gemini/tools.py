"""Gemini CLI tools -> SPEC category and the tool's own facts. [targets/gemini]

Gemini CLI's built-in tools are mapped onto the categories Codex's already use, with the
same facts per category, so a backend query or the viewer treats `run_shell_command` like
`exec_command` and a `replace` like an `apply_patch`: command, output, exit code and wall
time; a unified diff per file with +/- counts; todo lists as plan steps.

Facts come from the AfterTool hook's `tool_response` ({llmContent, returnDisplay, error?}):
a shell call's exit code is only in its llmContent text (`Exit Code: 3`, written only when
non-zero), a file edit's diff is `returnDisplay.fileDiff` (a unified diff the CLI made).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from staso_otel import semconv as sc
from staso_otel.targets import diffs
from staso_otel.targets.toolfacts import ToolFacts

SHELL = "run_shell_command"
CATEGORIES: dict[str, str] = {
    SHELL: sc.CATEGORY_SHELL,
    **dict.fromkeys(("read_file", "write_file", "replace", "list_directory", "glob",
                     "grep_search", "read_many_files"), sc.CATEGORY_FILE),
    **dict.fromkeys(("write_todos", "ask_user", "enter_plan_mode", "exit_plan_mode",
                     "tracker_create_task", "tracker_update_task", "tracker_get_task",
                     "tracker_list_tasks", "tracker_add_dependency", "tracker_visualize"),
                    sc.CATEGORY_PLANNING),
    **dict.fromkeys(("invoke_agent", "complete_task"), sc.CATEGORY_MULTI_AGENT),
    **dict.fromkeys(("google_web_search", "web_fetch", "save_memory", "activate_skill",
                     "get_internal_docs", "update_topic", "read_mcp_resource",
                     "list_mcp_resources"), sc.CATEGORY_SYSTEM),
}  # fmt: skip
EDITS = frozenset({"write_file", "replace"})
LISTINGS = frozenset({"list_directory", "glob", "grep_search"})

# the sections of a shell call's llmContent, one per line: `Output: ...` runs on to the next
_SECTION = re.compile(
    r"^(Output|Error|Exit Code|Signal|Background PIDs|Process Group PGID): ", re.M
)
_WRAPPER = re.compile(r"\A\s*<untrusted_context>\n?(.*?)\n?</untrusted_context>\s*\Z", re.S)


def category(name: str) -> str:
    if name.startswith("mcp_"):
        return sc.CATEGORY_MCP
    return CATEGORIES.get(name, sc.CATEGORY_OTHER)


def tool_type(name: str) -> str:
    return sc.TOOL_TYPE_EXTENSION if name.startswith("mcp_") else sc.TOOL_TYPE_FUNCTION


def result_text(response: Any) -> str | None:
    """What the model was told: the llmContent (a string or parts), else the value as JSON."""
    if response is None:
        return None
    content = response.get("llmContent") if isinstance(response, dict) else response
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [p.get("text") for p in content if isinstance(p, dict) and "text" in p]
        if texts:
            return "\n".join(str(t) for t in texts)
    return json.dumps(content, ensure_ascii=False, separators=(",", ":"))


def shell_sections(text: str) -> dict[str, str]:
    """`Output: ...\\nExit Code: 3\\n...` -> {"Output": ..., "Exit Code": "3", ...}."""
    wrapped = _WRAPPER.match(text)
    body = wrapped.group(1) if wrapped else text
    marks = list(_SECTION.finditer(body))
    return {
        m.group(1): body[
            m.end() : marks[i + 1].start() if i + 1 < len(marks) else len(body)
        ].rstrip("\n")
        for i, m in enumerate(marks)
    }


@dataclass(frozen=True)
class Outcome:
    """How one call ended: the AfterTool response, or the transcript's record of it."""

    response: Any = None  # AfterTool tool_response
    status: str | None = None  # the transcript's: success | error | cancelled
    ran: bool = True
    permission_requested: bool = False
    duration_ms: int | None = None


def _error(response: Any) -> str | None:
    error = response.get("error") if isinstance(response, dict) else None
    if isinstance(error, dict):
        return str(error.get("message") or error.get("type") or "failed")
    return error if isinstance(error, str) and error else None


def facts(name: str, args: Any, o: Outcome, cwd: str | None = None) -> ToolFacts:
    """The tool's own facts (SPEC "Tool categories") and whether it failed."""
    out = ToolFacts()
    a = args if isinstance(args, dict) else {}
    error = _error(o.response)
    if not o.ran:
        out.error_type, out.error_message = "not_run", result_text(o.response) or "not run"
        out.attrs[sc.STASO_TOOL_EXECUTED] = False
    elif o.status == "cancelled":
        out.error_type, out.error_message = "interrupted", "the call was cancelled"
    elif error is not None or o.status == "error":
        out.error_type, out.error_message = "failed", error or result_text(o.response)
    if o.permission_requested:
        out.attrs[sc.STASO_TOOL_PERMISSION_REQUESTED] = True
    cat = category(name)
    if cat == sc.CATEGORY_SHELL:
        _shell(out, a, o)
    elif cat == sc.CATEGORY_FILE:
        _file(out, name, a, o, cwd)
    elif name == "write_todos" and isinstance(a.get("todos"), list):
        out.attrs[sc.STASO_PLAN_STEPS] = [
            {"step": t.get("description"), "status": t.get("status")}
            for t in a["todos"]
            if isinstance(t, dict)
        ]
    elif cat == sc.CATEGORY_MCP:
        out.attrs[sc.STASO_MCP_TOOL] = name
    elif name == "google_web_search":
        out.attrs[sc.STASO_SEARCH_QUERY] = a.get("query")
    return out


def _shell(out: ToolFacts, a: dict, o: Outcome) -> None:
    out.attrs[sc.STASO_SHELL_COMMAND] = a.get("command")
    if a.get("dir_path"):
        out.attrs[sc.STASO_SHELL_CWD] = a["dir_path"]
    if a.get("is_background") is True:
        out.attrs[sc.STASO_SHELL_BACKGROUND] = True
    text = result_text(o.response) if o.ran else None
    if text is None:
        return
    sections = shell_sections(text)
    if "Output" not in sections:
        return  # moved to the background or cancelled: no exit code to claim
    output = sections["Output"]
    out.attrs[sc.STASO_SHELL_STDOUT] = "" if output == "(empty)" else output
    code = sections.get("Exit Code", "0" if "Signal" not in sections else "")
    exit_code = int(code) if code.lstrip("-").isdigit() else None
    out.attrs[sc.STASO_SHELL_EXIT_CODE] = exit_code
    if sections.get("Process Group PGID"):
        out.attrs[sc.STASO_SHELL_PTY_SESSION_ID] = sections["Process Group PGID"]
    if o.duration_ms is not None:
        out.attrs[sc.STASO_SHELL_WALL_TIME_S] = o.duration_ms / 1000
    if exit_code and out.error_type in (None, "failed"):
        out.error_type, out.error_message = "exit_code", f"exit code {exit_code}"
    elif sections.get("Signal") and out.error_type is None:
        out.error_type, out.error_message = "signal", f"killed by {sections['Signal']}"


def _relative(path: str, cwd: str | None) -> str:
    if cwd and path.startswith(cwd.rstrip("/") + "/"):
        return path[len(cwd.rstrip("/")) + 1 :]
    return path.lstrip("/")


def _file(out: ToolFacts, name: str, a: dict, o: Outcome, cwd: str | None) -> None:
    path = a.get("file_path") or a.get("dir_path")
    if name in LISTINGS or name == "read_many_files":
        out.attrs[sc.STASO_SEARCH_QUERY] = a.get("pattern") or a.get("dir_path")
        if o.ran and name != "read_many_files":
            out.attrs[sc.STASO_FILE_LISTING] = result_text(o.response)
        return
    if not isinstance(path, str):
        return
    out.attrs[sc.STASO_FILE_PATHS] = [path]
    if name not in EDITS:
        return
    diff, kind = _diff(name, a, o.response, _relative(path, cwd))
    if diff is None:
        return
    applied = o.ran and out.error_type is None
    diffs.put_changes(out.attrs, [diffs.Change(path, kind, diff)], applied)


def _diff(name: str, a: dict, response: Any, rel: str) -> tuple[str | None, str]:
    """The edit as a unified diff with a/ b/ paths: computed from the contents the CLI
    reported (returnDisplay.originalContent/newContent), else from the call's input."""
    display = response.get("returnDisplay") if isinstance(response, dict) else None
    d = display if isinstance(display, dict) else {}
    old, new = d.get("originalContent"), d.get("newContent")
    if isinstance(new, str):
        if d.get("isNewFile") is True or old in (None, ""):
            return diffs.created(rel, new), "add"
        return diffs.between(rel, old, new), "update"
    if name == "write_file" and isinstance(a.get("content"), str):
        return diffs.created(rel, a["content"]), "add"
    old_s, new_s = a.get("old_string"), a.get("new_string")
    if isinstance(old_s, str) and isinstance(new_s, str):
        return diffs.between(rel, old_s, new_s), "update"
    return None, "update"
