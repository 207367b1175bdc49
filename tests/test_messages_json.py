"""gen_ai.input/output.messages JSON: the text-only fast path writes what the dicts would."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from staso_otel.span import messages as msgs

_ODD = ["\ud800", "\udfff", "\x00", "\x1f", "\x7f", "\u2028", '"', "\\", "é", "a", "\n", "\t"]
_TEXTS = st.one_of(st.text(max_size=30), st.lists(st.sampled_from(_ODD), max_size=8).map("".join))
_PART = st.one_of(
    st.builds(msgs.TextPart, _TEXTS),
    st.builds(msgs.ReasoningPart, _TEXTS),
    st.builds(msgs.ToolCallPart, st.one_of(st.none(), _TEXTS), _TEXTS, st.just({"q": 1})),
)
_MESSAGE = st.builds(
    msgs.Message,
    st.one_of(_TEXTS, st.sampled_from(["user", "assistant"])),
    st.lists(st.one_of(st.builds(msgs.TextPart, _TEXTS), _PART), max_size=3).map(tuple),
    st.one_of(st.none(), _TEXTS, st.just(3)),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_MESSAGE, max_size=4))
def test_messages_json_is_the_dicts_json_whatever_the_text(messages):
    # to_json writes text-only messages without building their dicts: the very same JSON
    # (escapes, lone surrogates, a non-string finish reason falling back to the dicts)
    assert msgs.to_json(messages) == msgs.dumps([m.to_dict() for m in messages])


@settings(max_examples=300, deadline=None)
@given(st.lists(_MESSAGE, max_size=4), st.sampled_from(["llm.input_messages", "x"]))
def test_openinference_flattening_holds_each_messages_role_text_and_calls(messages, prefix):
    # the one-text-part shortcut and the general walk give the same attributes
    attrs = msgs.openinference_attributes(prefix, messages)
    want: dict[str, str] = {}
    for i, m in enumerate(messages):  # no tool responses here: one flat message each
        want[f"{prefix}.{i}.message.role"] = m.role
        if m.text:
            want[f"{prefix}.{i}.message.content"] = m.text
        calls = [p for p in m.parts if isinstance(p, msgs.ToolCallPart)]
        for j, call in enumerate(calls):
            base = f"{prefix}.{i}.message.tool_calls.{j}.tool_call."
            if call.id:
                want[base + "id"] = call.id
            want[base + "function.name"] = call.name
            want[base + "function.arguments"] = msgs.dumps(call.arguments)
    assert attrs == want


_JSON = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),  # past 64 bits: the fallback
        st.floats(allow_nan=False, allow_infinity=False),
        _TEXTS,
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(_TEXTS, st.integers(-5, 5), st.none()), inner, max_size=4),
    ),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(_JSON)
def test_dumps_writes_what_the_standard_librarys_json_writes(value):
    import json

    want = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    got = msgs.dumps(value)
    assert json.loads(got) == json.loads(want)
    # the one difference: a small exponent (orjson 1e-7 and 0.00001, Python 1e-07, 1e-05)
    if "e-0" not in want:
        assert got == want


def test_dumps_takes_anything_and_writes_json_where_the_standard_library_would_not():
    import json

    assert msgs.dumps({"x": float("nan")}) == '{"x":null}'  # not NaN, which is not JSON
    assert msgs.dumps({"s": {1, 2}, "b": b"\xff"}) == '{"s":"{1, 2}","b":"b\'\\\\xff\'"}'
    deep: list = []
    for _ in range(300):  # deeper than orjson nests
        deep = [deep]
    assert json.loads(msgs.dumps(deep)) == deep


class _Str(str):
    """A str that is not exactly str: coerce takes its general path for it."""


@settings(max_examples=300, deadline=None)
@given(
    role=st.one_of(st.none(), st.sampled_from(["user", "assistant", "system", "tool", ""]), _TEXTS),
    content=st.one_of(st.none(), _TEXTS, st.just([{"type": "text", "text": "hi"}])),
    tool_calls=st.sampled_from([None, [], [{"id": "c1", "function": {"name": "ls"}}]]),
)
def test_a_chat_api_message_becomes_the_same_message_on_either_path(role, content, tool_calls):
    # A dict with a text content and no tool calls skips the general conversion (one
    # text part, no list to build): it makes the message the general path makes.
    item: dict[str, object] = {"role": role, "content": content}
    if tool_calls is not None:
        item["tool_calls"] = tool_calls
    general = dict(item)
    if isinstance(role, str) and role:
        general["role"] = _Str(role)
    if isinstance(content, str):
        general["content"] = _Str(content)
    assert msgs.coerce([item], "user") == msgs.coerce([general], "user")


@settings(max_examples=300, deadline=None)
@given(st.lists(_MESSAGE, min_size=1, max_size=3))
def test_the_answer_text_is_the_messages_text_unless_a_tool_is_called(messages):
    # output.value: the texts joined, or None (the JSON goes there) when a tool is called
    calls = any(isinstance(p, msgs.ToolCallPart) for m in messages for p in m.parts)
    expected = None if calls else "\n".join(m.text for m in messages)
    assert msgs.answer_text(messages) == expected
