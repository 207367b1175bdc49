"""Claude Code hook payloads -> the kernel's vocabulary, per record. [targets/claude_code]

Claude Code 2.1.330 has 33 hook events, 2.1.332 adds PreSkillShellCommand (a skill's
`!cmd` preamble, run before the model sees the skill); a tracer needs thirteen of them (see
docs/claude-code-hooks.md). The turn key is `prompt_id` (one per user prompt); events
raised inside a sub-agent keep the parent's `session_id` and `prompt_id` and add
`agent_id`/`agent_type`. An unknown event becomes a context-only `Event`, and every
field is optional: a newer release may drop or retype any of them.
"""

from __future__ import annotations

from staso_otel.record.journal import Record
from staso_otel.targets import payload
from staso_otel.targets.claude_code import tools
from staso_otel.targets.payload import text
from staso_otel.turns import vocabulary as v

SESSION_START = "SessionStart"
USER_PROMPT_SUBMIT = "UserPromptSubmit"
PRE_TOOL_USE = "PreToolUse"
PERMISSION_REQUEST = "PermissionRequest"
PERMISSION_DENIED = "PermissionDenied"
POST_TOOL_USE = "PostToolUse"
POST_TOOL_USE_FAILURE = "PostToolUseFailure"
POST_TOOL_BATCH = "PostToolBatch"
SUBAGENT_START = "SubagentStart"
SUBAGENT_STOP = "SubagentStop"
PRE_COMPACT = "PreCompact"
POST_COMPACT = "PostCompact"
STOP = "Stop"
STOP_FAILURE = "StopFailure"
SESSION_END = "SessionEnd"
PRE_SKILL_SHELL_COMMAND = "PreSkillShellCommand"  # 2.1.332+; older releases ignore it

# What `staso setup --target claude-code` subscribes to: every event the reducer reads.
# MessageDisplay is left out on purpose: the transcript has the same text, and each hook
# costs the user an interpreter start.
ALL = (
    SESSION_START,
    USER_PROMPT_SUBMIT,
    PRE_TOOL_USE,
    PERMISSION_REQUEST,
    PERMISSION_DENIED,
    POST_TOOL_USE,
    POST_TOOL_USE_FAILURE,
    POST_TOOL_BATCH,
    SUBAGENT_START,
    SUBAGENT_STOP,
    PRE_COMPACT,
    POST_COMPACT,
    STOP,
    STOP_FAILURE,
    SESSION_END,
    PRE_SKILL_SHELL_COMMAND,
)
TOOL_EVENTS = frozenset(
    {PRE_TOOL_USE, PERMISSION_REQUEST, PERMISSION_DENIED, POST_TOOL_USE, POST_TOOL_USE_FAILURE}
)


def parse(record: Record) -> list[v.Event]:
    """A journal record as vocabulary events; none when it has no session id (never
    journaled). An event the kernel has no step for still tells the cwd and transcript."""
    p = record.payload
    session_id = text(p.get("session_id"))
    if session_id is None:
        return []
    kind = p.get("hook_event_name")
    prompt_id, agent_id = text(p.get("prompt_id")), text(p.get("agent_id"))
    # a sub-agent is one unit, keyed by its agent id; its events keep the parent's
    # prompt_id, the turn it runs for
    unit = f"agent:{agent_id}" if agent_id else prompt_id
    where = payload.where(record, unit, parent_turn=prompt_id)
    tool = payload.tool(record)
    response, error = p.get("tool_response"), text(p.get("error"))
    duration = p.get("duration_ms")
    ms = int(duration) if isinstance(duration, (int, float)) else None
    last_message = text(p.get("last_assistant_message"))
    if kind not in ALL:
        return [v.Event(**where)]  # MessageDisplay and events of a newer release
    if kind == SESSION_START:
        source = text(p.get("source"))
        return [
            v.SessionStarted(
                **where,
                source=source,
                fresh=source in ("startup", "fork"),
                # the history copied from the parent session is older than this: not ours
                fork=source == "fork",
                restart=source != "compact",
            )
        ]
    if kind == SESSION_END:
        return [v.SessionEnded(**where)]
    if kind == SUBAGENT_START:
        return [v.SubagentStarted(**where)]
    if kind == SUBAGENT_STOP:
        path = text(p.get("agent_transcript_path"))
        return [v.SubagentStopped(**where, response=last_message, agent_transcript_path=path)]
    if kind == USER_PROMPT_SUBMIT:
        prompt = p.get("prompt") if isinstance(p.get("prompt"), str) else None
        return [v.TurnStarted(**where, prompt=prompt, background=tools.background_note(prompt))]
    if kind == PRE_SKILL_SHELL_COMMAND:
        # a skill's `!cmd` preamble (2.1.332+): Claude Code runs it itself, before the model
        # sees the skill; no hook reports its end or output
        skill = {
            "skill": text(p.get("command_name")) or "",
            "skill_src": text(p.get("command_source")),
        }
        call_id = tool["call_id"] or f"skill@{record.received_ns}"
        shell = {**tool, "call_id": call_id, "name": tool["name"] or "Bash"}
        return [v.ToolStarted(**where, **shell, extra=skill)]
    if kind == PRE_TOOL_USE:
        return [v.ToolStarted(**where, **tool)]
    if kind == PERMISSION_REQUEST:  # without a tool_use_id: the open call of that tool
        return [v.ToolPermission(**where, **tool)]
    if kind == PERMISSION_DENIED:  # without a tool_use_id: a call of its own
        call_id = tool["call_id"] or f"{tool['name']}@{record.received_ns}"
        return [v.ToolPermission(**where, **{**tool, "call_id": call_id}, denied=True)]
    if kind in (POST_TOOL_USE, POST_TOOL_USE_FAILURE):
        failed = kind == POST_TOOL_USE_FAILURE
        agent = response.get("agentId") if isinstance(response, dict) else None
        spawner = not failed and tool["name"] in tools.AGENT_TOOLS
        # Claude Code names every call it ends: one it does not is a call of its own
        call_id = tool["call_id"] or f"{tool['name']}@{record.received_ns}"
        return [
            v.ToolFinished(
                **where,
                **{**tool, "call_id": call_id},
                response=None if failed else response,
                error=(error or "failed") if failed else None,
                interrupted=p.get("is_interrupt") is True,
                duration_ms=ms,
                spawned_agent=agent if isinstance(agent, str) and spawner else None,
            )
        ]
    if kind == POST_TOOL_BATCH:  # every call of one model message, including never-run ones
        calls = p.get("tool_calls")
        return [
            v.ToolAnswered(
                **where,
                call_id=text(c.get("tool_use_id")),
                name=text(c.get("tool_name")),
                input=c.get("tool_input"),
                visible=c.get("tool_response"),
            )
            for c in (calls if isinstance(calls, list) else [])
            if isinstance(c, dict)
        ]
    if kind in (PRE_COMPACT, POST_COMPACT):
        return [payload.compaction(record, where, "pre" if kind == PRE_COMPACT else "post")]
    if kind == STOP:
        return [payload.stop(record, where)]
    if kind == STOP_FAILURE:
        return [v.TurnFailed(**where, error=error or last_message)]
    return [v.Event(**where)]
