"""Span builders, one per row of SPEC's span table: plain values in, SpanData out. [span]

Each builder is pure (no I/O, no clock, no opentelemetry) and target-agnostic: the agent
name, provider and target are arguments, so a Codex turn, a Claude Code turn and a turn
traced through `import staso_otel` come out of the same function. Every span carries both
dialects, gen_ai.* (OpenTelemetry GenAI conventions) and OpenInference, so Phoenix and
Langfuse read the same span as a generic OTLP backend.

Every builder takes a `Frame` (ids, times, target, session, error, content setting) and
the span's own facts, and returns it `Closed` (name, kind, attributes, status): the
library API sets those on a live SDK span, `Frame.span` makes the pipeline's SpanData, and
`turn_span` & co. do both for a frame given as keywords.

Rules shared by all builders:
- unset values (None, "", empty collections) are skipped, never written as empty;
- failure = status ERROR with a description plus `error.type` (the description is the
  message when content is captured, else only the error type);
- `capture_content=False` drops every key in CONTENT_KEYS (prompts, responses, tool
  arguments and results, commands, stdout, diffs, source): only metadata remains.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from staso_otel import semconv as sc
from staso_otel.span import messages as msgs
from staso_otel.span.messages import Message, Part
from staso_otel.span.model import AttributeValue, SpanData

__all__ = [
    "CONTENT_KEYS",
    "CONTENT_PREFIXES",
    "Closed",
    "Frame",
    "Usage",
    "chat",
    "chat_span",
    "is_content_key",
    "subagent",
    "subagent_span",
    "tool",
    "tool_span",
    "turn",
    "turn_span",
]

# Keys whose values are what the user or model wrote: dropped when content capture is off.
CONTENT_KEYS: frozenset[str] = frozenset(
    {
        sc.INPUT_VALUE,
        sc.INPUT_MIME_TYPE,
        sc.OUTPUT_VALUE,
        sc.OUTPUT_MIME_TYPE,
        sc.GEN_AI_INPUT_MESSAGES,
        sc.GEN_AI_OUTPUT_MESSAGES,
        sc.GEN_AI_SYSTEM_INSTRUCTIONS,
        sc.GEN_AI_TOOL_CALL_ARGUMENTS,
        sc.GEN_AI_TOOL_CALL_RESULT,
        sc.TOOL_PARAMETERS,
        sc.STASO_SHELL_COMMAND,
        sc.STASO_SHELL_STDOUT,
        sc.STASO_SHELL_STDERR,
        sc.STASO_FILE_DIFF,
        sc.STASO_FILE_LISTING,
        sc.STASO_CODE_SOURCE,
        sc.STASO_CODE_RESULT,
        sc.STASO_PLAN_STEPS,
        sc.STASO_PLAN_EXPLANATION,
        sc.STASO_PLAN_QUESTIONS,
        sc.STASO_AGENT_MESSAGE,
        sc.STASO_BATCH_RESULT,
        sc.STASO_SEARCH_QUERY,
        sc.STASO_SEARCH_RESULTS,
        sc.STASO_WEB_URL,
    }
)
# Flattened OpenInference messages: every key below these prefixes is content too.
CONTENT_PREFIXES: tuple[str, ...] = (sc.LLM_INPUT_MESSAGES + ".", sc.LLM_OUTPUT_MESSAGES + ".")


def is_content_key(key: str) -> bool:
    # a tool's facts may come with a key of another type (the SDK drops it later)
    return key in CONTENT_KEYS or (type(key) is str and key.startswith(CONTENT_PREFIXES))


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts of one model request (or a sum of them). `input_tokens` includes
    cached input, as in the OpenAI Responses API and the GenAI conventions."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    total_tokens: int | None = None  # None: input + output

    @classmethod
    def anthropic(
        cls, input_tokens: int, output_tokens: int, cache_read: int, cache_write: int, thinking: int
    ) -> Usage:
        """Anthropic's counts (Messages API, Claude Code transcripts): its input_tokens
        excludes cached input, the GenAI conventions' includes it, so cache reads and
        writes are added back."""
        whole_input = input_tokens + cache_read + cache_write
        return cls(whole_input, output_tokens, cache_read, cache_write, thinking)

    @property
    def total(self) -> int:
        if self.total_tokens is not None:
            return self.total_tokens
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cache_read_tokens + other.cache_read_tokens,
            self.cache_write_tokens + other.cache_write_tokens,
            self.reasoning_tokens + other.reasoning_tokens,
            self.total + other.total,
        )

    def to_dict(self) -> dict[str, int]:
        return {
            "input": self.input_tokens,
            "output": self.output_tokens,
            "cache_read": self.cache_read_tokens,
            "cache_write": self.cache_write_tokens,
            "reasoning": self.reasoning_tokens,
            "total": self.total,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Usage:
        return cls(
            int(data.get("input") or 0),
            int(data.get("output") or 0),
            int(data.get("cache_read") or 0),
            int(data.get("cache_write") or 0),
            int(data.get("reasoning") or 0),
            None if data.get("total") is None else int(data["total"]),
        )


def _empty(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, (str, list, tuple, dict, set, frozenset)):
        return len(value) == 0
    return False


def _put(attrs: dict[str, AttributeValue], key: str, value: object) -> None:
    """Set `key` unless the value is unset; lists become tuples, other objects JSON."""
    if value is None:  # the most common values: one check instead of the general ones below
        return
    if type(value) is str:
        if value:
            attrs[key] = value
        return
    if _empty(value):
        return
    if isinstance(value, (str, bool, int, float)):
        attrs[key] = value
    elif isinstance(value, (list, tuple)) and _homogeneous(value):
        attrs[key] = tuple(value)
    else:
        attrs[key] = _json(value)


def _put_all(attrs: dict[str, AttributeValue], keys: tuple[str, ...], value: object) -> None:
    """`_put` of one value under several keys (a fact both dialects name), checked once."""
    if value is None:
        return
    if type(value) is str:
        if value:
            for key in keys:
                attrs[key] = value
        return
    for key in keys:
        _put(attrs, key, value)


# facts both dialects name, as _put_all takes them
_PROVIDER_KEYS = (sc.GEN_AI_PROVIDER_NAME, sc.LLM_PROVIDER, sc.LLM_SYSTEM)
_SESSION_KEYS = (sc.GEN_AI_CONVERSATION_ID, sc.SESSION_ID)
_MODEL_KEYS = (sc.GEN_AI_REQUEST_MODEL, sc.LLM_MODEL_NAME)
_TOOL_NAME_KEYS = (sc.GEN_AI_TOOL_NAME, sc.TOOL_NAME)
_TOOL_DESCRIPTION_KEYS = (sc.TOOL_DESCRIPTION, sc.GEN_AI_TOOL_DESCRIPTION)


def _homogeneous(values: list[Any] | tuple[Any, ...]) -> bool:
    """An OTel array attribute holds one primitive type: all str, or all int."""
    if all(isinstance(v, str) for v in values):
        return True
    return all(isinstance(v, int) and not isinstance(v, bool) for v in values)


_json = msgs.dumps


def _as_text(value: object) -> tuple[str | None, str]:
    """Content as a string and its mime type: text stays text, structures become JSON."""
    if type(value) is str:  # most content: one check instead of the general ones below
        return (value or None), sc.MIME_TEXT
    if _empty(value):
        return None, sc.MIME_TEXT
    if isinstance(value, str):
        return value, sc.MIME_TEXT
    return _json(value), sc.MIME_JSON


@dataclass(slots=True)
class Frame:
    """What every builder takes alike: where the span sits, when, for which agent and
    session, how it ended, and whether content is kept."""

    trace_id: int
    span_id: int
    start_ns: int
    end_ns: int
    target: str
    session_id: str | None
    parent_span_id: int | None = None  # None: a root
    error_type: str | None = None
    error_message: str | None = None
    capture_content: bool = True

    def span(self, closed: Closed) -> SpanData:
        """The SpanData of a built span in this frame."""
        return SpanData(
            self.trace_id,
            self.span_id,
            self.parent_span_id,
            closed.name,
            closed.kind,
            self.start_ns,
            max(self.end_ns, self.start_ns),
            closed.attributes,
            closed.status,
            closed.status_description,
            (),
            self.target,
        )


_FRAME_FIELDS = frozenset(Frame.__dataclass_fields__)


class Closed(NamedTuple):
    """A built span before it has ids and times: what a live SDK span is given (api/)."""

    name: str
    kind: str
    attributes: dict[str, AttributeValue]
    status: str
    status_description: str | None


def _close(
    frame: Frame,
    name: str,
    kind: str,
    attrs: dict[str, AttributeValue],
    extra: Mapping[str, object] | None,
) -> Closed:
    _put_all(attrs, _SESSION_KEYS, frame.session_id)
    _put(attrs, sc.STASO_TARGET, frame.target)
    if extra:
        for key, value in extra.items():
            _put(attrs, key, value)
    status, description = sc.STATUS_UNSET, None
    error_type = frame.error_type
    if error_type:
        # an error message may quote content (a tool's output, a blocked command)
        message = frame.error_message if frame.capture_content else None
        status, description = sc.STATUS_ERROR, message or error_type
        attrs[sc.ERROR_TYPE] = error_type
    if not frame.capture_content:
        attrs = {k: v for k, v in attrs.items() if not is_content_key(k)}
    return Closed(name, kind, attrs, status, description)


def _keyword_frame(fields: dict[str, Any]) -> tuple[Frame, dict[str, Any]]:
    """A frame given as keywords among a builder's own (the `*_span` functions)."""
    frame = {k: fields.pop(k) for k in _FRAME_FIELDS & fields.keys()}
    try:
        return Frame(**frame), fields
    except TypeError as e:
        raise TypeError(f"span frame: {e}") from None


def _usage_attrs(attrs: dict[str, AttributeValue], usage: Usage) -> None:
    attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] = usage.input_tokens
    attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] = usage.output_tokens
    attrs[sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] = usage.cache_read_tokens
    attrs[sc.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS] = usage.cache_write_tokens
    attrs[sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] = usage.reasoning_tokens
    attrs[sc.LLM_TOKEN_COUNT_PROMPT] = usage.input_tokens
    attrs[sc.LLM_TOKEN_COUNT_COMPLETION] = usage.output_tokens
    attrs[sc.LLM_TOKEN_COUNT_TOTAL] = usage.total
    attrs[sc.LLM_TOKEN_COUNT_PROMPT_CACHE_READ] = usage.cache_read_tokens
    attrs[sc.LLM_TOKEN_COUNT_PROMPT_CACHE_WRITE] = usage.cache_write_tokens
    attrs[sc.LLM_TOKEN_COUNT_COMPLETION_REASONING] = usage.reasoning_tokens


def _turn_usage_attrs(attrs: dict[str, AttributeValue], usage: Usage, model_calls: int) -> None:
    # The GenAI conventions allow gen_ai.usage.* on invoke_agent, but backends read usage
    # off every span: Langfuse prices an AGENT observation that has a model and usage (the
    # turn's tokens would be paid twice), and MLflow takes an ancestor's usage instead of
    # its descendants' (a sub-agent's calls nested under the turn would vanish from the
    # total). So a turn's totals stay under staso.usage.*, which no backend sums.
    attrs[sc.STASO_USAGE_INPUT_TOKENS] = usage.input_tokens
    attrs[sc.STASO_USAGE_OUTPUT_TOKENS] = usage.output_tokens
    attrs[sc.STASO_USAGE_CACHE_READ_INPUT_TOKENS] = usage.cache_read_tokens
    attrs[sc.STASO_USAGE_CACHE_WRITE_INPUT_TOKENS] = usage.cache_write_tokens
    attrs[sc.STASO_USAGE_REASONING_OUTPUT_TOKENS] = usage.reasoning_tokens
    attrs[sc.STASO_USAGE_TOTAL_TOKENS] = usage.total
    attrs[sc.STASO_USAGE_MODEL_CALLS] = model_calls


def _agent_attrs(
    attrs: dict[str, AttributeValue],
    *,
    agent_name: str,
    agent_id: str | None,
    agent_version: str | None,
    provider: str | None,
    model: str | None,
    prompt: object,
    response: object,
    usage: Usage | None,
    model_calls: int,
    outcome: str | None,
    end_reason: str | None,
) -> None:
    attrs[sc.GEN_AI_OPERATION_NAME] = sc.OP_INVOKE_AGENT
    attrs[sc.OPENINFERENCE_SPAN_KIND] = sc.OI_KIND_AGENT
    _put(attrs, sc.GEN_AI_AGENT_NAME, agent_name)
    _put(attrs, sc.GEN_AI_AGENT_ID, agent_id)
    _put(attrs, sc.GEN_AI_AGENT_VERSION, agent_version)
    _put(attrs, sc.GEN_AI_PROVIDER_NAME, provider)
    _put_all(attrs, _MODEL_KEYS, model)
    text, mime = _as_text(prompt)
    if text is not None:
        attrs[sc.INPUT_VALUE] = text
        attrs[sc.INPUT_MIME_TYPE] = mime
    text, mime = _as_text(response)
    if text is not None:
        attrs[sc.OUTPUT_VALUE] = text
        attrs[sc.OUTPUT_MIME_TYPE] = mime
    if usage is not None:
        _turn_usage_attrs(attrs, usage, model_calls)
    _put(attrs, sc.STASO_TURN_OUTCOME, outcome)
    _put(attrs, sc.STASO_TURN_END_REASON, end_reason)


def turn(
    frame: Frame,
    *,
    agent_name: str,
    agent_id: str | None = None,
    agent_version: str | None = None,
    provider: str | None = None,
    model: str | None = None,
    prompt: object = None,
    response: object = None,
    usage: Usage | None = None,
    model_calls: int = 0,
    outcome: str | None = None,
    end_reason: str | None = None,
    extra: Mapping[str, object] | None = None,
) -> Closed:
    """The root span of one turn: `invoke_agent {agent_name}`, kind INTERNAL.

    Attributes (requirement level):
    - `gen_ai.operation.name` = `invoke_agent` (required)
    - `openinference.span.kind` = `AGENT` (required)
    - `gen_ai.agent.name` (required), `gen_ai.agent.id` (when known),
      `gen_ai.agent.version` (the agent CLI's version, when known)
    - `gen_ai.conversation.id`, `session.id` = the agent's session id (required when known)
    - `staso.target` (required when given)
    - `gen_ai.provider.name` (recommended), `gen_ai.request.model`, `llm.model_name`
      (conditionally required: when the model is known)
    - `input.value` + `input.mime_type` = the prompt (opt-in content)
    - `output.value` + `output.mime_type` = the final response (opt-in content)
    - `staso.usage.input_tokens`, `.output_tokens`, `.cache_read.input_tokens`,
      `.cache_write.input_tokens`, `.reasoning.output_tokens`, `.total_tokens`,
      `staso.usage.model_calls`: the turn's totals (recommended, when usage is given;
      tokens sit on model-call spans, these are a convenience that backends don't sum)
    - `staso.turn.outcome` (completed|interrupted|failed|unfinished),
      `staso.turn.end_reason` (recommended)
    - `error.type` + status ERROR (conditionally required: when the turn failed)
    - `extra`: target facts such as `codex.turn_id`, `codex.turn_number` (recommended)
    """
    attrs: dict[str, AttributeValue] = {}
    _agent_attrs(
        attrs,
        agent_name=agent_name,
        agent_id=agent_id,
        agent_version=agent_version,
        provider=provider,
        model=model,
        prompt=prompt,
        response=response,
        usage=usage,
        model_calls=model_calls,
        outcome=outcome,
        end_reason=end_reason,
    )
    return _close(
        frame, sc.span_name(sc.OP_INVOKE_AGENT, agent_name), sc.KIND_INTERNAL, attrs, extra
    )


def subagent(
    frame: Frame,
    *,
    agent_type: str,
    agent_id: str | None = None,
    agent_name: str | None = None,
    agent_version: str | None = None,
    provider: str | None = None,
    model: str | None = None,
    prompt: object = None,
    response: object = None,
    usage: Usage | None = None,
    model_calls: int = 0,
    outcome: str | None = None,
    end_reason: str | None = None,
    extra: Mapping[str, object] | None = None,
) -> Closed:
    """A sub-agent run inside its parent's trace: `invoke_agent {agent_type}`, INTERNAL,
    parented to the tool call that spawned it.

    Attributes (requirement level): as `turn_span`, plus
    - `staso.agent.type` = agent_type (required)
    - `gen_ai.agent.id` = the sub-agent's own id (required when known)
    - `gen_ai.agent.name` = agent_name, default agent_type (required)
    """
    attrs: dict[str, AttributeValue] = {}
    _agent_attrs(
        attrs,
        agent_name=agent_name or agent_type,
        agent_id=agent_id,
        agent_version=agent_version,
        provider=provider,
        model=model,
        prompt=prompt,
        response=response,
        usage=usage,
        model_calls=model_calls,
        outcome=outcome,
        end_reason=end_reason,
    )
    _put(attrs, sc.STASO_AGENT_TYPE, agent_type)
    return _close(
        frame, sc.span_name(sc.OP_INVOKE_AGENT, agent_type), sc.KIND_INTERNAL, attrs, extra
    )


def chat(
    frame: Frame,
    *,
    request_model: str | None,
    provider: str | None = None,
    response_model: str | None = None,
    response_id: str | None = None,
    usage: Usage | None = None,
    input_messages: Sequence[Message] | object = None,
    output: Sequence[Message] | object = None,
    system_instructions: Sequence[Part] | None = None,
    input_scope: str | None = None,
    finish_reasons: list[str] | tuple[str, ...] | None = None,
    agent_name: str | None = None,
    extra: Mapping[str, object] | None = None,
) -> Closed:
    """One model request: `chat {model}`, kind CLIENT.

    Attributes (requirement level):
    - `gen_ai.operation.name` = `chat`, `openinference.span.kind` = `LLM` (required)
    - `gen_ai.provider.name`, `llm.provider`, `llm.system` (required when known)
    - `gen_ai.request.model`, `llm.model_name` (conditionally required: when known)
    - `gen_ai.response.model` (recommended; defaults to the request model),
      `gen_ai.response.id` (recommended), `gen_ai.response.finish_reasons` (recommended)
    - `gen_ai.usage.input_tokens` (includes cached), `.output_tokens`,
      `.cache_read.input_tokens`, `.cache_creation.input_tokens` (the registry's name for
      cache writes), `.reasoning.output_tokens`, and OpenInference
      `llm.token_count.prompt/completion/total`, `.prompt_details.cache_read/cache_write`,
      `.completion_details.reasoning` (recommended: when usage is given)
    - `gen_ai.input.messages`, `gen_ai.output.messages` (role/parts JSON),
      `gen_ai.system_instructions` (parts JSON), and the same messages flattened for
      OpenInference, `llm.input_messages.{i}.message.*`, `llm.output_messages.{i}...`
      (opt-in content); `output.value` = the response text, or the output messages JSON
      when the model called tools (opt-in)
    - `staso.chat.input_scope`: what the input messages hold (conversation_start,
      turn_start, since_previous_call, resumed, after_compaction): only what is new since
      the previous call, never the whole context again (recommended)
    - `gen_ai.agent.name` (recommended), `gen_ai.conversation.id`, `session.id`
    - `error.type` + status ERROR (conditionally required: when the request failed)
    """
    attrs: dict[str, AttributeValue] = {
        sc.GEN_AI_OPERATION_NAME: sc.OP_CHAT,
        sc.OPENINFERENCE_SPAN_KIND: sc.OI_KIND_LLM,
    }
    _put_all(attrs, _PROVIDER_KEYS, provider)
    _put(attrs, sc.GEN_AI_REQUEST_MODEL, request_model)
    _put(attrs, sc.LLM_MODEL_NAME, response_model or request_model)
    _put(
        attrs,
        sc.GEN_AI_RESPONSE_MODEL,
        response_model or (None if frame.error_type else request_model),
    )
    _put(attrs, sc.GEN_AI_RESPONSE_ID, response_id)
    _put(attrs, sc.GEN_AI_RESPONSE_FINISH_REASONS, finish_reasons)
    _put(attrs, sc.GEN_AI_AGENT_NAME, agent_name)
    if usage is not None:
        _usage_attrs(attrs, usage)
    _message_attrs(
        attrs,
        msgs.coerce(input_messages, sc.ROLE_USER),
        msgs.coerce(output, sc.ROLE_ASSISTANT),
        system_instructions,
        finish_reasons,
    )
    _put(attrs, sc.STASO_CHAT_INPUT_SCOPE, input_scope)
    return _close(
        frame, sc.span_name(sc.OP_CHAT, request_model or ""), sc.KIND_CLIENT, attrs, extra
    )


def _message_attrs(
    attrs: dict[str, AttributeValue],
    inputs: list[Message] | None,
    outputs: list[Message] | None,
    instructions: Sequence[Part] | None,
    finish_reasons: Sequence[str] | None,
) -> None:
    if inputs:
        # Not also as input.value: every backend reads one of these two, and a call's
        # input can be the largest thing on the span (each copy costs the size cap again).
        attrs[sc.GEN_AI_INPUT_MESSAGES] = msgs.to_json(inputs)
        msgs.openinference_attributes(sc.LLM_INPUT_MESSAGES, inputs, attrs)
    if instructions:
        attrs[sc.GEN_AI_SYSTEM_INSTRUCTIONS] = msgs.parts_json(instructions)
    if outputs:
        if finish_reasons and outputs[-1].finish_reason is None:
            # the conventions require a finish reason on every output message
            last = outputs[-1]
            outputs = [*outputs[:-1], Message(last.role, last.parts, finish_reasons[-1])]
        attrs[sc.GEN_AI_OUTPUT_MESSAGES] = msgs.to_json(outputs)
        msgs.openinference_attributes(sc.LLM_OUTPUT_MESSAGES, outputs, attrs)
        answer = msgs.answer_text(outputs)
        if answer is not None:
            attrs[sc.OUTPUT_VALUE] = answer
            attrs[sc.OUTPUT_MIME_TYPE] = sc.MIME_TEXT
        else:
            attrs[sc.OUTPUT_VALUE] = attrs[sc.GEN_AI_OUTPUT_MESSAGES]
            attrs[sc.OUTPUT_MIME_TYPE] = sc.MIME_JSON


def tool(
    frame: Frame,
    *,
    tool_name: str,
    call_id: str | None = None,
    tool_type: str = sc.TOOL_TYPE_FUNCTION,
    category: str | None = None,
    arguments: object = None,
    result: object = None,
    description: str | None = None,
    facts: Mapping[str, object] | None = None,
    extra: Mapping[str, object] | None = None,
) -> Closed:
    """One tool call: `execute_tool {tool_name}`, kind INTERNAL.

    Attributes (requirement level):
    - `gen_ai.operation.name` = `execute_tool`, `openinference.span.kind` = `TOOL` (required)
    - `gen_ai.tool.name`, `tool.name` (required)
    - `gen_ai.tool.call.id` (recommended: when the agent gives one)
    - `gen_ai.tool.type` = function | extension | datastore (recommended)
    - `gen_ai.tool.description`, `tool.description` (recommended, when known)
    - `gen_ai.tool.call.arguments`, `input.value` (+ mime) = the arguments (opt-in content)
    - `gen_ai.tool.call.result`, `output.value` (+ mime) = the result (opt-in content)
    - `staso.tool.category` = shell | file | code | planning | multi_agent | batch | system |
      mcp | other (recommended)
    - `facts`: the tool's own facts, `staso.shell.*`, `staso.file.*`, `staso.plan.*`,
      `staso.agent.*`, `staso.mcp.*` … (recommended; those in CONTENT_KEYS are opt-in)
    - `error.type` + status ERROR (conditionally required: when the call failed)
    """
    attrs: dict[str, AttributeValue] = {
        sc.GEN_AI_OPERATION_NAME: sc.OP_EXECUTE_TOOL,
        sc.OPENINFERENCE_SPAN_KIND: sc.OI_KIND_TOOL,
    }
    _put_all(attrs, _TOOL_NAME_KEYS, tool_name)
    _put(attrs, sc.GEN_AI_TOOL_CALL_ID, call_id)
    _put(attrs, sc.GEN_AI_TOOL_TYPE, tool_type)
    _put_all(attrs, _TOOL_DESCRIPTION_KEYS, description)
    _put(attrs, sc.STASO_TOOL_CATEGORY, category)
    text, mime = _as_text(arguments)
    if text is not None:
        attrs[sc.GEN_AI_TOOL_CALL_ARGUMENTS] = text
        attrs[sc.INPUT_VALUE] = text
        attrs[sc.INPUT_MIME_TYPE] = mime
    text, mime = _as_text(result)
    if text is not None:
        attrs[sc.GEN_AI_TOOL_CALL_RESULT] = text
        attrs[sc.OUTPUT_VALUE] = text
        attrs[sc.OUTPUT_MIME_TYPE] = mime
    if facts:
        for key, value in facts.items():
            _put(attrs, key, value)
    return _close(
        frame, sc.span_name(sc.OP_EXECUTE_TOOL, tool_name), sc.KIND_INTERNAL, attrs, extra
    )


# The same builders for a frame given as keywords (trace_id=..., span_id=..., target=...,
# session_id=..., error_type=..., capture_content=...), made into a SpanData.


def turn_span(**fields: Any) -> SpanData:
    """`turn` as a SpanData, the frame's fields among the keywords."""
    frame, rest = _keyword_frame(fields)
    return frame.span(turn(frame, **rest))


def subagent_span(**fields: Any) -> SpanData:
    """`subagent` as a SpanData, the frame's fields among the keywords."""
    frame, rest = _keyword_frame(fields)
    return frame.span(subagent(frame, **rest))


def chat_span(**fields: Any) -> SpanData:
    """`chat` as a SpanData, the frame's fields among the keywords."""
    frame, rest = _keyword_frame(fields)
    return frame.span(chat(frame, **rest))


def tool_span(**fields: Any) -> SpanData:
    """`tool` as a SpanData, the frame's fields among the keywords."""
    frame, rest = _keyword_frame(fields)
    return frame.span(tool(frame, **rest))
