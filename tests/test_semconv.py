"""Every attribute key staso spells is the one upstream publishes.

gen_ai.* keys are checked against the GenAI registry as the pinned
`opentelemetry-semantic-conventions` package publishes it (its `_incubating` module is the
generated registry); OpenInference keys against the pinned
`openinference-semantic-conventions`, which Phoenix and MLflow read.
"""

from __future__ import annotations

from openinference.semconv import resource, trace
from opentelemetry.semconv._incubating.attributes import gen_ai_attributes

from staso_otel import semconv as sc

REGISTRY = {
    value
    for name, value in vars(gen_ai_attributes).items()
    if name.startswith("GEN_AI_") and isinstance(value, str)
}


def ours(prefix: str) -> dict[str, str]:
    return {
        name: value
        for name, value in vars(sc).items()
        if name.isupper() and isinstance(value, str) and value.startswith(prefix)
    }


def test_every_gen_ai_key_is_in_the_registry() -> None:
    keys = ours("gen_ai.")
    assert len(keys) >= 20  # the collection itself works
    unknown = {name: value for name, value in keys.items() if value not in REGISTRY}
    assert not unknown, f"not in the GenAI registry: {unknown}"


def test_openinference_keys_match_upstream() -> None:
    span, msg, call = trace.SpanAttributes, trace.MessageAttributes, trace.ToolCallAttributes
    pairs = {
        sc.OPENINFERENCE_SPAN_KIND: span.OPENINFERENCE_SPAN_KIND,
        sc.SESSION_ID: span.SESSION_ID,
        sc.USER_ID: span.USER_ID,
        sc.INPUT_VALUE: span.INPUT_VALUE,
        sc.INPUT_MIME_TYPE: span.INPUT_MIME_TYPE,
        sc.OUTPUT_VALUE: span.OUTPUT_VALUE,
        sc.OUTPUT_MIME_TYPE: span.OUTPUT_MIME_TYPE,
        sc.LLM_MODEL_NAME: span.LLM_MODEL_NAME,
        sc.LLM_PROVIDER: span.LLM_PROVIDER,
        sc.LLM_SYSTEM: span.LLM_SYSTEM,
        sc.LLM_TOKEN_COUNT_PROMPT: span.LLM_TOKEN_COUNT_PROMPT,
        sc.LLM_TOKEN_COUNT_COMPLETION: span.LLM_TOKEN_COUNT_COMPLETION,
        sc.LLM_TOKEN_COUNT_TOTAL: span.LLM_TOKEN_COUNT_TOTAL,
        sc.LLM_TOKEN_COUNT_PROMPT_CACHE_READ: span.LLM_TOKEN_COUNT_PROMPT_DETAILS_CACHE_READ,
        sc.LLM_TOKEN_COUNT_PROMPT_CACHE_WRITE: span.LLM_TOKEN_COUNT_PROMPT_DETAILS_CACHE_WRITE,
        sc.LLM_TOKEN_COUNT_COMPLETION_REASONING: (
            span.LLM_TOKEN_COUNT_COMPLETION_DETAILS_REASONING
        ),
        sc.LLM_INPUT_MESSAGES: span.LLM_INPUT_MESSAGES,
        sc.LLM_OUTPUT_MESSAGES: span.LLM_OUTPUT_MESSAGES,
        sc.TOOL_NAME: span.TOOL_NAME,
        sc.TOOL_DESCRIPTION: span.TOOL_DESCRIPTION,
        sc.TOOL_PARAMETERS: span.TOOL_PARAMETERS,
        sc.OI_MESSAGE_ROLE: msg.MESSAGE_ROLE,
        sc.OI_MESSAGE_CONTENT: msg.MESSAGE_CONTENT,
        sc.OI_MESSAGE_TOOL_CALL_ID: msg.MESSAGE_TOOL_CALL_ID,
        sc.OI_MESSAGE_TOOL_CALLS: msg.MESSAGE_TOOL_CALLS,
        sc.OI_TOOL_CALL_ID: call.TOOL_CALL_ID,
        sc.OI_TOOL_CALL_FUNCTION_NAME: call.TOOL_CALL_FUNCTION_NAME,
        sc.OI_TOOL_CALL_FUNCTION_ARGUMENTS: call.TOOL_CALL_FUNCTION_ARGUMENTS_JSON,
        sc.OPENINFERENCE_PROJECT_NAME: resource.ResourceAttributes.PROJECT_NAME,
    }
    assert {ours: theirs for ours, theirs in pairs.items() if ours != theirs} == {}
    kinds = trace.OpenInferenceSpanKindValues
    assert [
        kinds.AGENT.value,
        kinds.LLM.value,
        kinds.TOOL.value,
        kinds.CHAIN.value,
    ] == [sc.OI_KIND_AGENT, sc.OI_KIND_LLM, sc.OI_KIND_TOOL, sc.OI_KIND_CHAIN]
    mimes = trace.OpenInferenceMimeTypeValues
    assert (mimes.JSON.value, mimes.TEXT.value) == (sc.MIME_JSON, sc.MIME_TEXT)
