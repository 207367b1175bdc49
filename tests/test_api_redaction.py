"""The library's spans carry exactly what the builders plus redaction make of the same facts.

The API takes shortcuts the general pipeline does not (a memo of texts already cleaned,
values it knows hold no secret, attributes built once per configuration): whatever goes
into a `turn` / `llm_call` / `tool_call`, secrets from the corpus placed as they arrive in
real payloads included, the exported span must equal `span/build.py`'s span for those facts
after `redact_span` without any memo, and no secret of the corpus may arrive.
"""

from __future__ import annotations

import contextlib
import json

import pytest
from api_helpers import configure_in_memory, span_ids
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from secrets_corpus import FORMATS, KEYED_FORMATS, LOOKALIKES, SECRETS, needles

import staso_otel
from staso_otel import semconv
from staso_otel.api import config
from staso_otel.span import build
from staso_otel.span import messages as msgs
from staso_otel.span.redact import redact_span

# each secret as it is printed (short: most take the short-text paths) and as payloads carry it
_PLACED = [(s, "as_printed", s.line) for s in SECRETS] + [
    (s, name, place(s.line)) for s in SECRETS for name, place in FORMATS + KEYED_FORMATS
]
_SECRET_TEXT = st.sampled_from(_PLACED).map(lambda p: p[2])
_TEXT = st.one_of(
    _SECRET_TEXT,
    st.sampled_from(LOOKALIKES),
    st.text(max_size=40),
    st.sampled_from(["", "ok", "password", "sk-", "x" * 300, "é" * 90 + '\n\t"q"']),
)
_NAME = st.sampled_from(["shell", "grep", "gpt-5", "claude-opus", "sk-" + "a1b2C3d4" * 4])
_CAPS = st.sampled_from([16384, 1024, 64])


def _same(got, want, cap: int) -> None:
    clean = redact_span(want, cap)  # no memo, no shortcut: the reference
    assert dict(got.attributes) == dict(clean.attributes), got.name
    assert got.name == clean.name
    assert (got.status.description or None) == clean.status_description


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    prompt=_TEXT,
    response=_TEXT,
    said=_TEXT,
    result=_TEXT,
    arg=_TEXT,
    arg_key=st.sampled_from(["command", "password", "api_key", "q"]),
    session=st.one_of(st.none(), _TEXT.filter(bool)),
    user=st.one_of(st.none(), _TEXT),
    model=_NAME,
    tool=_NAME,
    system=st.one_of(st.none(), _TEXT),
    tool_calls=st.booleans(),
    usage=st.booleans(),
    fail=st.one_of(st.none(), _TEXT),
    capture=st.booleans(),
    cap=_CAPS,
    repeat=st.integers(1, 2),
)
def test_library_spans_equal_the_reference_redaction_of_the_builders_output(
    monkeypatch,
    prompt,
    response,
    said,
    result,
    arg,
    arg_key,
    session,
    user,
    model,
    tool,
    system,
    tool_calls,
    usage,
    fail,
    capture,
    cap,
    repeat,
):
    monkeypatch.setenv("STASO_MAX_ATTRIBUTE_BYTES", str(cap))
    monkeypatch.setenv("STASO_CAPTURE_CONTENT", "true" if capture else "false")
    exporter = configure_in_memory(agent="bot", provider="openai")
    arguments = {arg_key: arg, "n": 3}
    output = (
        [{"role": "assistant", "content": said, "tool_calls": [_call(tool, arguments)]}]
        if tool_calls
        else said
    )
    try:
        for _ in range(repeat):  # the second time round, every text is in the memo
            exporter.clear()
            _turn(
                prompt,
                response,
                output,
                result,
                arguments,
                session,
                user,
                model,
                tool,
                system,
                usage,
                fail,
            )
            spans = exporter.get_finished_spans()
            root = next(s for s in spans if s.parent is None)
            chat = next(s for s in spans if s.kind.name == "CLIENT")
            tool_span = next(s for s in spans if s is not root and s is not chat)
            sid = root.attributes.get(semconv.SESSION_ID) if session is None else session
            tokens = build.Usage(812, 64, 512) if usage else None
            error = (type(_Boom()).__name__, fail) if fail is not None else (None, None)
            _same(
                root,
                build.turn_span(
                    **span_ids(root),
                    agent_name="bot",
                    target="bot",
                    session_id=sid,
                    provider="openai",
                    prompt=prompt,
                    response=response if fail is None else None,
                    usage=tokens if usage else build.Usage(),
                    model_calls=1,
                    outcome=semconv.TURN_FAILED if fail is not None else semconv.TURN_COMPLETED,
                    error_type=error[0],
                    error_message=error[1],
                    extra={semconv.USER_ID: user} if user else None,
                    capture_content=capture,
                ),
                cap,
            )
            _same(
                chat,
                build.chat_span(
                    **span_ids(chat),
                    request_model=model,
                    target="bot",
                    session_id=sid,
                    provider="openai",
                    usage=tokens,
                    input_messages=[{"role": "user", "content": prompt}],
                    output=output,
                    system_instructions=(msgs.TextPart(system),) if system is not None else None,
                    response_id="resp_1",
                    agent_name="bot",
                    capture_content=capture,
                ),
                cap,
            )
            _same(
                tool_span,
                build.tool_span(
                    **span_ids(tool_span),
                    tool_name=tool,
                    target="bot",
                    session_id=sid,
                    call_id="call_1" if tool_calls else None,
                    arguments=arguments,
                    result=result if fail is None else None,
                    error_type=error[0],
                    error_message=error[1],
                    capture_content=capture,
                ),
                cap,
            )
            arrived = "\n".join(
                f"{s.name} {s.status.description} {dict(s.attributes)!r}" for s in spans
            )
            if cap < 1024:
                continue  # a cut can leave a token's start too short to know (as for any span)
            for secret, fmt, text in _PLACED:
                if text in (prompt, response, said, result, arg, session, user, system, fail):
                    leaked = [n for n in needles(secret, fmt) if n in arrived]
                    assert not leaked, (secret.kind, fmt, leaked[:3])
    finally:
        config.reset()


class _Boom(Exception):
    pass


def _call(name: str, arguments: dict) -> dict:
    return {"id": "call_1", "function": {"name": name, "arguments": json.dumps(arguments)}}


def _turn(
    prompt, response, output, result, arguments, session, user, model, tool, system, usage, fail
) -> None:
    expect = pytest.raises(_Boom) if fail is not None else contextlib.nullcontext()
    with expect, staso_otel.turn(prompt, session_id=session, user_id=user) as t:
        with staso_otel.llm_call(
            model,
            input_messages=[{"role": "user", "content": prompt}],
            system_instructions=system,
        ) as call:
            if usage:
                call.set_usage(812, 64, cache_read_tokens=512)
            call.set_response(output, response_id="resp_1")
        with staso_otel.tool_call(tool, arguments) as tc:
            if fail is not None:
                raise _Boom(fail)
            tc.set_result(result)
        t.set_response(response)
