"""Span names, attribute keys and enum values: the one table every stage reads. [stdlib]

GenAI semantic conventions (https://opentelemetry.io/docs/specs/semconv/gen-ai/) and
OpenInference (https://github.com/Arize-ai/openinference, read by Phoenix and Langfuse)
sit side by side, because each span carries both dialects. Nothing outside this module
spells an attribute key; `tests/test_semconv.py` checks every gen_ai.* value against the
GenAI registry as the pinned `opentelemetry-semantic-conventions` package publishes it, and
the OpenInference keys against the pinned `openinference-semantic-conventions`.
"""

from __future__ import annotations

from typing import Final

# --- span names: "{operation} {subject}" as in the GenAI conventions --------------------
OP_INVOKE_AGENT: Final = "invoke_agent"
OP_CHAT: Final = "chat"
OP_EXECUTE_TOOL: Final = "execute_tool"


def span_name(operation: str, subject: str) -> str:
    """`invoke_agent codex`, `chat gpt-5`, `execute_tool exec_command`."""
    return f"{operation} {subject}" if subject else operation


# --- span kinds (values of opentelemetry.trace.SpanKind names, kept as strings) -----------
KIND_INTERNAL: Final = "INTERNAL"
KIND_CLIENT: Final = "CLIENT"
KIND_SERVER: Final = "SERVER"

STATUS_UNSET: Final = "UNSET"
STATUS_OK: Final = "OK"
STATUS_ERROR: Final = "ERROR"

# --- gen_ai.* (GenAI semantic conventions) --------------------------------------------------
GEN_AI_OPERATION_NAME: Final = "gen_ai.operation.name"
GEN_AI_PROVIDER_NAME: Final = "gen_ai.provider.name"
GEN_AI_AGENT_NAME: Final = "gen_ai.agent.name"
GEN_AI_AGENT_ID: Final = "gen_ai.agent.id"
GEN_AI_AGENT_VERSION: Final = "gen_ai.agent.version"
GEN_AI_CONVERSATION_ID: Final = "gen_ai.conversation.id"
GEN_AI_REQUEST_MODEL: Final = "gen_ai.request.model"
GEN_AI_RESPONSE_MODEL: Final = "gen_ai.response.model"
GEN_AI_RESPONSE_ID: Final = "gen_ai.response.id"
GEN_AI_RESPONSE_FINISH_REASONS: Final = "gen_ai.response.finish_reasons"
GEN_AI_USAGE_INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
GEN_AI_USAGE_OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"
GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: Final = "gen_ai.usage.cache_read.input_tokens"
# The registry's name for tokens written to the cache (there is no `cache_write`).
GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: Final = "gen_ai.usage.cache_creation.input_tokens"
GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: Final = "gen_ai.usage.reasoning.output_tokens"
GEN_AI_TOOL_NAME: Final = "gen_ai.tool.name"
GEN_AI_TOOL_CALL_ID: Final = "gen_ai.tool.call.id"
GEN_AI_TOOL_TYPE: Final = "gen_ai.tool.type"
GEN_AI_TOOL_CALL_ARGUMENTS: Final = "gen_ai.tool.call.arguments"
GEN_AI_TOOL_CALL_RESULT: Final = "gen_ai.tool.call.result"
GEN_AI_TOOL_DESCRIPTION: Final = "gen_ai.tool.description"
GEN_AI_INPUT_MESSAGES: Final = "gen_ai.input.messages"
GEN_AI_OUTPUT_MESSAGES: Final = "gen_ai.output.messages"
GEN_AI_SYSTEM_INSTRUCTIONS: Final = "gen_ai.system_instructions"

# message roles (gen_ai.*.messages and OpenInference message.role)
ROLE_SYSTEM: Final = "system"
ROLE_USER: Final = "user"
ROLE_ASSISTANT: Final = "assistant"
ROLE_TOOL: Final = "tool"
ERROR_TYPE: Final = "error.type"

# gen_ai.response.finish_reasons / output message finish_reason values
FINISH_STOP: Final = "stop"
FINISH_TOOL_CALL: Final = "tool_call"
FINISH_LENGTH: Final = "length"
FINISH_ERROR: Final = "error"

# gen_ai.tool.type values
TOOL_TYPE_FUNCTION: Final = "function"
TOOL_TYPE_EXTENSION: Final = "extension"  # MCP and other server-side extensions
TOOL_TYPE_DATASTORE: Final = "datastore"

# gen_ai.provider.name values
PROVIDER_OPENAI: Final = "openai"
PROVIDER_ANTHROPIC: Final = "anthropic"
PROVIDER_GEMINI: Final = "gcp.gemini"  # the Gemini API (Vertex AI would be gcp.vertex_ai)

# --- OpenInference -------------------------------------------------------------------------
OPENINFERENCE_SPAN_KIND: Final = "openinference.span.kind"
OI_KIND_AGENT: Final = "AGENT"
OI_KIND_LLM: Final = "LLM"
OI_KIND_TOOL: Final = "TOOL"
OI_KIND_CHAIN: Final = "CHAIN"
SESSION_ID: Final = "session.id"
USER_ID: Final = "user.id"
INPUT_VALUE: Final = "input.value"
INPUT_MIME_TYPE: Final = "input.mime_type"
OUTPUT_VALUE: Final = "output.value"
OUTPUT_MIME_TYPE: Final = "output.mime_type"
MIME_JSON: Final = "application/json"
MIME_TEXT: Final = "text/plain"
LLM_MODEL_NAME: Final = "llm.model_name"
LLM_PROVIDER: Final = "llm.provider"
LLM_SYSTEM: Final = "llm.system"
LLM_TOKEN_COUNT_PROMPT: Final = "llm.token_count.prompt"
LLM_TOKEN_COUNT_COMPLETION: Final = "llm.token_count.completion"
LLM_TOKEN_COUNT_TOTAL: Final = "llm.token_count.total"
LLM_TOKEN_COUNT_PROMPT_CACHE_READ: Final = "llm.token_count.prompt_details.cache_read"
LLM_TOKEN_COUNT_PROMPT_CACHE_WRITE: Final = "llm.token_count.prompt_details.cache_write"
LLM_TOKEN_COUNT_COMPLETION_REASONING: Final = "llm.token_count.completion_details.reasoning"
# chat messages, flattened: llm.input_messages.{i}.message.role, ...tool_calls.{j}.tool_call.id
LLM_INPUT_MESSAGES: Final = "llm.input_messages"
LLM_OUTPUT_MESSAGES: Final = "llm.output_messages"
OI_MESSAGE_ROLE: Final = "message.role"
OI_MESSAGE_CONTENT: Final = "message.content"
OI_MESSAGE_TOOL_CALL_ID: Final = "message.tool_call_id"
OI_MESSAGE_TOOL_CALLS: Final = "message.tool_calls"
OI_TOOL_CALL_ID: Final = "tool_call.id"
OI_TOOL_CALL_FUNCTION_NAME: Final = "tool_call.function.name"
OI_TOOL_CALL_FUNCTION_ARGUMENTS: Final = "tool_call.function.arguments"
TOOL_NAME: Final = "tool.name"
TOOL_DESCRIPTION: Final = "tool.description"
TOOL_PARAMETERS: Final = "tool.parameters"

# --- resource ------------------------------------------------------------------------------
SERVICE_NAME: Final = "service.name"
SERVICE_VERSION: Final = "service.version"
DEPLOYMENT_ENVIRONMENT_NAME: Final = "deployment.environment.name"
STASO_WORKSPACE: Final = "staso.workspace"
STASO_AGENT_ID: Final = "staso.agent_id"
OPENINFERENCE_PROJECT_NAME: Final = "openinference.project.name"
TELEMETRY_SDK_NAME: Final = "telemetry.sdk.name"

# --- staso.* (ours: facts the conventions have no name for) ---------------------------------
STASO_TARGET: Final = "staso.target"
STASO_USAGE_INPUT_TOKENS: Final = "staso.usage.input_tokens"
STASO_USAGE_OUTPUT_TOKENS: Final = "staso.usage.output_tokens"
STASO_USAGE_CACHE_READ_INPUT_TOKENS: Final = "staso.usage.cache_read.input_tokens"
STASO_USAGE_CACHE_WRITE_INPUT_TOKENS: Final = "staso.usage.cache_write.input_tokens"
STASO_USAGE_REASONING_OUTPUT_TOKENS: Final = "staso.usage.reasoning.output_tokens"
STASO_USAGE_TOTAL_TOKENS: Final = "staso.usage.total_tokens"
STASO_USAGE_MODEL_CALLS: Final = "staso.usage.model_calls"
STASO_TURN_OUTCOME: Final = "staso.turn.outcome"  # completed | interrupted | failed | unfinished
STASO_TURN_END_REASON: Final = "staso.turn.end_reason"
STASO_CWD: Final = "staso.cwd"
STASO_PERMISSION_MODE: Final = "staso.permission_mode"
STASO_COMPACTIONS: Final = "staso.turn.compactions"
STASO_TRUNCATED: Final = "staso.truncated"  # keys whose content was cut by the size cap
STASO_REDACTED: Final = "staso.redacted"  # count of secrets replaced on the span
# What a chat span's input messages hold: the model saw more (the whole conversation), but
# each call carries only what is new since the call before it in the same turn.
STASO_CHAT_INPUT_SCOPE: Final = "staso.chat.input_scope"
INPUT_SCOPE_CONVERSATION_START: Final = "conversation_start"  # instructions + first prompt
INPUT_SCOPE_TURN_START: Final = "turn_start"  # this turn's prompt; history is in earlier turns
# (a resumed conversation starts so too: its history is in the traces of its earlier turns)
INPUT_SCOPE_SINCE_PREVIOUS: Final = "since_previous_call"  # tool results since the last call
INPUT_SCOPE_AFTER_COMPACTION: Final = "after_compaction"  # the model got a summary

TURN_COMPLETED: Final = "completed"
TURN_INTERRUPTED: Final = "interrupted"
TURN_FAILED: Final = "failed"
TURN_UNFINISHED: Final = "unfinished"

# tool facts
STASO_TOOL_CATEGORY: Final = "staso.tool.category"
STASO_TOOL_HOOK_NAME: Final = "staso.tool.hook_name"  # Codex's name in the hook (`Bash`)
STASO_TOOL_SOURCE: Final = "staso.tool.source"  # hook | batch | transcript | skill
# `staso import`: the span was rebuilt from the agent's transcript alone, no hook saw it;
# `staso.import.unknown` names what only hooks know, so its value here is not measured:
# permission_mode, tool_start_time / tool_end_time (transcript line times instead of the
# call's), model_call_start_time (Codex: the previous rollout line, not the request)
STASO_IMPORTED: Final = "staso.imported"
STASO_IMPORT_UNKNOWN: Final = "staso.import.unknown"
STASO_TOOL_BLOCKED: Final = "staso.tool.blocked"
STASO_TOOL_EXECUTED: Final = "staso.tool.executed"  # false: blocked, denied, rejected
STASO_TOOL_PERMISSION_REQUESTED: Final = "staso.tool.permission_requested"
STASO_TOOL_PARENT_CALL_ID: Final = "staso.tool.parent_call_id"  # code-mode `exec` cell
STASO_SHELL_COMMAND: Final = "staso.shell.command"
STASO_SHELL_STDOUT: Final = "staso.shell.stdout"
STASO_SHELL_STDERR: Final = "staso.shell.stderr"
STASO_SHELL_EXIT_CODE: Final = "staso.shell.exit_code"
STASO_SHELL_WALL_TIME_S: Final = "staso.shell.wall_time_s"
STASO_SHELL_PTY_SESSION_ID: Final = "staso.shell.pty_session_id"
STASO_SHELL_CWD: Final = "staso.shell.cwd"
STASO_SHELL_BACKGROUND: Final = "staso.shell.background"  # launched; ran on after the call
STASO_SHELL_BACKGROUND_STATUS: Final = "staso.shell.background_status"  # completed | failed ...
STASO_FILE_PATHS: Final = "staso.file.paths"
STASO_FILE_DIFF: Final = "staso.file.diff"  # unified diff of all files
STASO_FILE_CHANGES: Final = "staso.file.changes"  # JSON [{path, kind, added, removed}]
STASO_FILE_LINES_ADDED: Final = "staso.file.lines_added"
STASO_FILE_LINES_REMOVED: Final = "staso.file.lines_removed"
STASO_FILE_LISTING: Final = "staso.file.listing"
STASO_CODE_SOURCE: Final = "staso.code.source"
STASO_CODE_LANGUAGE: Final = "staso.code.language"
STASO_CODE_RESULT: Final = "staso.code.result"
STASO_PLAN_STEPS: Final = "staso.plan.steps"  # JSON [{step, status}]
STASO_PLAN_EXPLANATION: Final = "staso.plan.explanation"
STASO_PLAN_QUESTIONS: Final = "staso.plan.questions"
STASO_AGENT_IDS: Final = "staso.agent.ids"
STASO_AGENT_TASK_NAME: Final = "staso.agent.task_name"
STASO_AGENT_MESSAGE: Final = "staso.agent.message"
STASO_AGENT_TARGET: Final = "staso.agent.target"
STASO_AGENT_WAIT_STATUS: Final = "staso.agent.wait_status"
STASO_AGENT_TIMED_OUT: Final = "staso.agent.timed_out"
STASO_AGENT_TYPE: Final = "staso.agent.type"
STASO_AGENT_DEPTH: Final = "staso.agent.depth"
STASO_AGENT_ASYNC: Final = "staso.agent.async"  # launched in the background
# The call that spawned a sub-agent was never seen (hooks installed mid-session, a lost
# PreToolUse): where it was hung instead, "turn" / "agent" (that unit's root) or "none".
STASO_AGENT_PARENT_INFERRED: Final = "staso.agent.parent_inferred"
STASO_BATCH_CSV_PATH: Final = "staso.batch.csv_path"
STASO_BATCH_CONCURRENCY: Final = "staso.batch.concurrency"
STASO_BATCH_RESULT: Final = "staso.batch.result"
STASO_IMAGE_PATH: Final = "staso.image.path"
STASO_WEB_URL: Final = "staso.web.url"
STASO_SKILL_NAME: Final = "staso.skill.name"
STASO_SEARCH_QUERY: Final = "staso.search.query"
STASO_SEARCH_RESULTS: Final = "staso.search.results"
STASO_PERMISSION_SCOPES: Final = "staso.permission.scopes"
STASO_MCP_SERVER: Final = "staso.mcp.server"
STASO_MCP_TOOL: Final = "staso.mcp.tool"
STASO_MCP_IS_ERROR: Final = "staso.mcp.is_error"

# staso.tool.category values (SPEC.md "Tool categories")
CATEGORY_SHELL: Final = "shell"
CATEGORY_FILE: Final = "file"
CATEGORY_CODE: Final = "code"
CATEGORY_PLANNING: Final = "planning"
CATEGORY_MULTI_AGENT: Final = "multi_agent"
CATEGORY_BATCH: Final = "batch"
CATEGORY_SYSTEM: Final = "system"
CATEGORY_MCP: Final = "mcp"
CATEGORY_OTHER: Final = "other"

# codex.* (facts only Codex has)
CODEX_TURN_ID: Final = "codex.turn_id"
CODEX_TURN_NUMBER: Final = "codex.turn_number"
CODEX_CLI_VERSION: Final = "codex.cli_version"
CODEX_SESSION_SOURCE: Final = "codex.session.source"
CODEX_AGENT_PATH: Final = "codex.agent.path"
CODEX_AGENT_NICKNAME: Final = "codex.agent.nickname"

# claude_code.* (facts only Claude Code has)
CLAUDE_CODE_PROMPT_ID: Final = "claude_code.prompt_id"
CLAUDE_CODE_TURN_NUMBER: Final = "claude_code.turn_number"
CLAUDE_CODE_TURN_SEGMENT: Final = "claude_code.turn_segment"  # >0: after a blocking Stop hook
CLAUDE_CODE_REQUEST_ID: Final = "claude_code.request_id"  # transcript api-request id
CLAUDE_CODE_TASK_NOTIFICATION: Final = "claude_code.task_notification"  # background result
# a <task-notification> turn: which background call finished, how (status, exit code)
CLAUDE_CODE_BACKGROUND_CALL_ID: Final = "claude_code.background.tool_call_id"
CLAUDE_CODE_BACKGROUND_STATUS: Final = "claude_code.background.status"
CLAUDE_CODE_BACKGROUND_EXIT_CODE: Final = "claude_code.background.exit_code"
CLAUDE_CODE_SKILL_SOURCE: Final = "claude_code.skill.source"  # PreSkillShellCommand source
CLAUDE_CODE_SESSION_SOURCE: Final = "claude_code.session.source"  # startup | resume | ...

# gemini.* (facts only Gemini CLI has)
GEMINI_TURN_NUMBER: Final = "gemini.turn_number"
GEMINI_SESSION_SOURCE: Final = "gemini.session.source"  # startup | resume | clear
GEMINI_MESSAGE_ID: Final = "gemini.message_id"  # the transcript record of the response

# codex.* added by the Codex target (turn reconstruction)
CODEX_REQUEST_KIND: Final = "codex.request_kind"  # turn | compaction
CODEX_TURN_SEGMENT: Final = "codex.turn_segment"  # >0: continued after a blocking Stop hook
CODEX_STOP_HOOK_ACTIVE: Final = "codex.stop_hook_active"
CODEX_USAGE_SOURCE: Final = "codex.usage_source"  # hook | transcript
