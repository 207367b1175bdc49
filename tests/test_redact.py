"""A corpus of secrets never reaches the collector; huge content is capped as valid JSON."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from secrets_corpus import FORMATS, KEYED_FORMATS, LOOKALIKES, needles
from secrets_corpus import SECRETS as CORPUS

from staso_otel import semconv
from staso_otel.span import secrets
from staso_otel.span.model import SpanData, SpanEvent
from staso_otel.span.redact import cap_text, redact_span, redact_text

SECRETS = {
    "aws": "AKIAIOSFODNN7EXAMPLE",
    "gcp": "AIzaSyA-1234567890abcdefghijklmnopqrstu",
    "openai": "sk-proj-Abcdefghijklmnopqrstuvwxyz0123456789",
    "anthropic": "sk-ant-api03-abcdefghijklmnopqrstuvwxyz-0123456789",
    "github": "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
    "slack": "xoxb-123456789012-abcdefghijklmnop",
    "stripe": "sk_live_abcdefghijklmnopqrstuvwx",
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9Pl",
    "url": "hunter2-db-pass",
    "env": "Zm9vYmFyYmF6cXV4",
    "bearer": "abcdefghijklmnopqrstuvwxyz012345",
    "pem": "MIIEpAIBAAKCAQEA1234567890abcdef",
}
TEXT = f"""
aws={SECRETS["aws"]} and {SECRETS["gcp"]}
OPENAI_API_KEY={SECRETS["openai"]}
export ANTHROPIC_API_KEY="{SECRETS["anthropic"]}"
git push https://{SECRETS["github"]}@github.com/x/y and token {SECRETS["slack"]}
stripe {SECRETS["stripe"]} jwt {SECRETS["jwt"]}
postgres://admin:{SECRETS["url"]}@db.internal:5432/app
DB_PASSWORD={SECRETS["env"]}
Authorization: Bearer {SECRETS["bearer"]}
-----BEGIN RSA PRIVATE KEY-----
{SECRETS["pem"]}
-----END RSA PRIVATE KEY-----
"""


def test_no_secret_of_the_corpus_survives():
    out, count = redact_text(TEXT)
    for name, secret in SECRETS.items():
        assert secret not in out, name
    assert count >= len(SECRETS)
    assert "postgres://admin:[REDACTED:url_password]@db.internal" in out


@pytest.mark.parametrize(
    "harmless",
    [
        '{"input_tokens": 100000, "output_tokens": 123456}',
        "max_tokens = 4096",
        "the token count was high",
        "https://example.com/path?q=1",
    ],
)
def test_harmless_text_is_left_alone(harmless):
    assert redact_text(harmless) == (harmless, 0)


def _span(attrs: dict) -> SpanData:
    return SpanData(1, 2, None, "execute_tool exec_command", "INTERNAL", 1, 2, attrs)


def test_fifty_megabyte_output_is_capped_and_stays_valid_json():
    huge = json.dumps({"output": "x" * (50 * 1024 * 1024), "exit_code": 0})
    span = redact_span(
        _span({semconv.OUTPUT_VALUE: huge, semconv.STASO_SHELL_STDOUT: "y" * 10**6}), 16384
    )
    value = span.attributes[semconv.OUTPUT_VALUE]
    assert len(value.encode()) <= 16384
    assert json.loads(value)["exit_code"] == 0
    assert len(span.attributes[semconv.STASO_SHELL_STDOUT].encode()) <= 16384
    assert set(span.attributes[semconv.STASO_TRUNCATED]) == {
        semconv.OUTPUT_VALUE,
        semconv.STASO_SHELL_STDOUT,
    }


def test_span_redaction_counts_and_covers_lists_and_status():
    span = SpanData(
        1,
        2,
        None,
        "x",
        "INTERNAL",
        1,
        2,
        {"a": f"key {SECRETS['openai']}", "b": (f"pw {SECRETS['aws']}", "ok"), "n": 5},
        status="ERROR",
        status_description=f"failed with {SECRETS['github']}",
    )
    out = redact_span(span, 16384)
    flat = json.dumps(out.to_dict())
    for secret in (SECRETS["openai"], SECRETS["aws"], SECRETS["github"]):
        assert secret not in flat
    # two in the attributes, one in the status description
    assert out.attributes[semconv.STASO_REDACTED] == 3 and out.attributes["n"] == 5


def test_cap_cuts_plain_text_on_a_utf8_boundary():
    text, cut = cap_text("é" * 10000, 1001)
    assert cut and len(text.encode()) <= 1001
    text.encode("utf-8")


def _conversation(turns: int) -> str:
    """What a chat span's `gen_ai.input.messages` holds: messages, their parts, texts."""
    message = {"role": "user", "parts": [{"type": "text", "content": "ls -la\n" * 200}]}
    return json.dumps([message] * turns)


def test_a_long_conversation_is_cut_to_the_cap_and_parses():
    for cap in (300, 4096, 16384):
        text, cut = cap_text(_conversation(40), cap)
        assert cut and len(text.encode()) <= cap
        assert isinstance(json.loads(text), list)


def test_cutting_a_conversation_writes_it_out_less_than_twice(monkeypatch):
    """Each level of nesting adds up its children's lengths, and a text longer than its
    share is cut without being serialised whole: a cut that serialised every item again
    at each level wrote the conversation out 4-5 times over."""
    from staso_otel.span import redact

    text = _conversation(40)
    written = []
    real = redact.json.dumps

    def counting(value, **kw):
        out = real(value, **kw)
        written.append(len(out))
        return out

    monkeypatch.setattr(redact.json, "dumps", counting)
    out, cut = cap_text(text, 16384)
    assert cut and json.loads(out)
    assert sum(written) <= 2 * len(text)  # was 4.7 times


# -- secrets next to JSON escapes, new kinds, look-alikes (issue 12) ------------------------


def test_a_key_on_the_second_line_of_a_json_serialised_output_is_redacted():
    key = "sk-ant-api03-" + "A" * 40
    out, count = redact_text(json.dumps({"s": "a\n" + key}))
    assert key not in out and count == 1
    assert json.loads(out) == {"s": "a\n[REDACTED:anthropic_key]"}


@pytest.mark.parametrize(
    "wrap",
    [
        pytest.param(lambda t: t, id="plain"),
        pytest.param(lambda t: json.dumps({"stdout": "first line\n" + t}), id="json"),
        pytest.param(lambda t: json.dumps(json.dumps({"a": {"b": "\t" + t}})), id="json-in-json"),
        pytest.param(lambda t: json.dumps({"é": "→\n" + t}, ensure_ascii=False), id="non-ascii"),
        pytest.param(lambda t: json.dumps({"a": t}).replace("/", "\\/"), id="escaped-slash"),
    ],
)
def test_every_secret_of_the_corpus_in_every_shape_is_redacted_and_json_stays_json(wrap):
    leaks = []
    for secret in CORPUS:
        for fmt, place in FORMATS + KEYED_FORMATS:
            text = wrap(place(secret.line))
            out, count = redact_text(text)
            if count == 0 or any(n in out for n in needles(secret, fmt)):
                leaks.append(f"{secret.kind} ({fmt}): {out[:160]!r}")
            if text[:1] in '{"':
                json.loads(out)  # a replacement never cuts an escape in two
    assert not leaks, "\n".join(leaks[:40])


@pytest.mark.parametrize(
    "line, kind",
    [
        ("Authorization: Basic ZGVwbG95Omh1bnRlcjI=", "basic_auth"),
        ("curl -u deploy:hunter2-pass https://x.example", "curl_password"),
        ("DB_PASSWORD=31415926", "env_secret"),
        ("STRIPE_WEBHOOK_SECRET=whatever-it-is", "env_secret"),
        ("GITHUB_TOKEN=abcd1234", "env_secret"),
        ("DD_API_KEY=0123456789abcdef", "env_secret"),
    ],
)
def test_the_kinds_the_issue_names_are_recognised(line, kind):
    out, count = redact_text(json.dumps({"stdout": "ok\n\t" + line}))
    assert count == 1 and f"[REDACTED:{kind}]" in out, out


@pytest.mark.parametrize("text", LOOKALIKES)
def test_look_alikes_survive_whole(text):
    for shaped in (text, json.dumps({"stdout": "x\n" + text}), json.dumps(json.dumps([text]))):
        assert redact_text(shaped) == (shaped, 0)


def test_secrets_in_events_and_the_name_are_redacted_and_counted():
    key = "ghp_" + "b" * 36
    span = SpanData(
        1,
        2,
        None,
        f"execute_tool {key}",
        "INTERNAL",
        1,
        2,
        {"a": "x"},
        events=(SpanEvent("exception", 3, {"exception.message": json.dumps({"e": "\n" + key})}),),
    )
    out = redact_span(span, 16384)
    assert key not in json.dumps(out.to_dict())
    assert out.attributes[semconv.STASO_REDACTED] == 2


def _turn_spans(content: str) -> list[SpanData]:
    """Spans as a turn makes them: ids, cwd and model on each, a tool's arguments twice."""
    common = {"session.id": "s-1", "staso.cwd": "/home/me/project", "llm.model_name": "gpt-x"}
    return [
        SpanData(
            trace_id=1,
            span_id=i + 1,
            parent_span_id=None if i == 0 else 1,
            name=f"execute_tool {content[:12]}",
            kind="INTERNAL",
            start_ns=1,
            end_ns=2,
            attributes={
                **common,
                "gen_ai.tool.call.arguments": content,
                "input.value": content,
                "staso.file.paths": (content, "/home/me/project/a.txt"),
            },
            status="ERROR",
            status_description=content,
            events=(SpanEvent("exception", 1, {"exception.message": content}),),
        )
        for i in range(3)
    ]


def test_a_batch_is_redacted_as_each_span_alone_for_every_corpus_secret():
    from secrets_corpus import FORMATS, SECRETS

    from staso_otel.span.redact import redact_spans

    for secret in SECRETS:
        for _, place in FORMATS:
            spans = _turn_spans(place(secret.line))
            assert redact_spans(spans, 16384) == [redact_span(s, 16384) for s in spans]


def test_a_batch_scans_each_distinct_string_once(monkeypatch):
    from staso_otel.span import redact

    scanned: list[str] = []
    real = redact.redact_text

    def counting(text: str) -> tuple[str, int]:
        scanned.append(text)
        return real(text)

    monkeypatch.setattr(redact, "redact_text", counting)
    key = "sk-proj-" + "a1B2c3D4" * 10
    # 4096: the cap of a status description too, so every string has one (text, cap)
    spans = redact.redact_spans(_turn_spans(f"curl -H 'Authorization: Bearer {key}' x"), 4096)
    assert len(scanned) == len(set(scanned)) == 6
    for span in spans:
        # every occurrence is still replaced and counted: 3 in attributes (one in a
        # list), the status description and the event's
        assert key not in repr(span)
        assert span.attributes["staso.redacted"] == 5


def test_the_memo_carries_across_batches_and_stays_within_its_budget(monkeypatch):
    from staso_otel.span import redact

    scanned: list[str] = []
    real = redact.redact_text
    monkeypatch.setattr(redact, "redact_text", lambda t: scanned.append(t) or real(t))
    key = "ghp_" + "Zx9" * 12
    memo = redact.Memo()
    first = redact.redact_spans(_turn_spans(f"token {key} here"), 4096, memo)
    again = redact.redact_spans(_turn_spans(f"token {key} here"), 4096, memo)
    assert first == again and len(scanned) == 6  # the second session scanned nothing
    tiny = redact.Memo(budget=100)  # smaller than the content: kept only what fits
    for _ in range(3):
        spans = redact.redact_spans(_turn_spans(f"token {key} " + "z" * 200), 4096, tiny)
        assert all(key not in repr(s) and s.attributes["staso.redacted"] == 5 for s in spans)
    assert tiny._used <= 100


def test_every_rule_and_gate_compiles():
    # rules compile when first looked for, so a pattern that cannot compile would only
    # fail on the first text that reaches it: compile them all here
    from staso_otel.span import secrets

    rules = [r for group in secrets._BY_PREFIX.values() for r in group]
    rules += [r for _, _, group in secrets.WORDS for r in group]
    assert len(rules) > 40
    for rule in rules:
        assert rule.pattern.pattern == rule.source and rule.group in ("secret", 0)
    for _, gate, _ in secrets.WORDS:
        assert secrets._gate(gate).pattern == gate


def test_short_text_finds_every_word_rule_secret():
    # short text is first asked whether any gate matches (secrets._suspect): every word-led
    # rule still hits
    short = {
        f"password={SECRETS['env']}": SECRETS["env"],
        f"Authorization: Bearer {SECRETS['bearer']}": SECRETS["bearer"],
        f"postgres://admin:{SECRETS['url']}@db:5432/app": SECRETS["url"],
        f"curl -u admin:{SECRETS['url']} https://x": SECRETS["url"],
    }
    for text, secret in short.items():
        out, count = redact_text(text)
        assert secret not in out and count >= 1, text


def _gate_texts(gate: bytes) -> st.SearchStrategy[bytes]:
    # text a gate matches once lower-cased, as _suspect sees it
    pattern = re.compile(gate)
    return st.from_regex(pattern).map(bytes.lower).filter(lambda low: pattern.search(low))


@pytest.mark.parametrize("gate", [gate for _, gate, _ in secrets.WORDS], ids=lambda g: g[:12])
def test_every_gates_match_holds_one_of_the_hints(gate):
    # _suspect asks for the gates only where a hint is: a gate whose matches can miss every
    # hint would let its secrets through on short text
    hints = re.compile(secrets._HINTS)

    @settings(max_examples=150, deadline=None, database=None)
    @given(_gate_texts(gate))
    def holds_a_hint(low: bytes) -> None:
        assert hints.search(low), low

    holds_a_hint()


_FRAGMENTS = [
    *(s.line for s in CORPUS if len(s.line) < 120),
    # each secret as payloads carry it (quoted, JSON-escaped, encoded), where it is short
    *(p for s in CORPUS for _, place in FORMATS if len(p := place(s.line)) < 120),
    *LOOKALIKES,
    "password",
    "passw=",
    "Bearer ",
    "basic ",
    "token:",
    "secret=",
    "api_key=",
    "credential",
    "sig=",
    "curl -u ",
    "://",
    "-----BEGIN",
    ":\\\\",
    "%3D",
    "".join(f"%{b:02X}" for b in b"password=hunter2-db-pass"),  # nothing to see until decoded
    "sk-",
    "ghp_",
    "AKIA",
    "eyJ",
    "abcdefghij",
    "0123456789",
    # a word without its gate (the prefilter skips them), and what completes one
    "passed",
    " -q ",
    "-p",
    "--token",
    "=",
    ": ",
    "keys",
    "login ",
    "mysql",
    "bearer",
    "/home/dev/project/src/parser.py",  # a token run that is no secret (ids, paths)
    "01a20a6c-a0fe-7aa0-b7ee-3fc100000000",
    " ",
    "\\n",
    '\\"',
    "é",
    "x",
]


@settings(max_examples=600, deadline=None)
@given(st.lists(st.sampled_from(_FRAGMENTS), max_size=12))
def test_short_text_prefilter_skips_only_text_no_rule_could_match(pieces):
    from staso_otel.span import secrets

    text = "".join(pieces)
    fast = redact_text(text)
    old = secrets._SUSPECT_BELOW
    secrets._SUSPECT_BELOW = 0  # the full scan, always
    try:
        assert fast == redact_text(text)
    finally:
        secrets._SUSPECT_BELOW = old


def test_redact_span_carries_over_every_field_it_does_not_clean():
    import dataclasses

    span = SpanData(
        trace_id=7,
        span_id=8,
        parent_span_id=9,
        name="execute_tool shell",
        kind=semconv.KIND_CLIENT,
        start_ns=10,
        end_ns=20,
        attributes={"k": "v"},
        status=semconv.STATUS_ERROR,
        status_description="boom",
        events=(SpanEvent("e", 15, {"a": "b"}),),
        target="codex",
    )
    out = redact_span(span, 16384)
    names = [f.name for f in dataclasses.fields(SpanData)]
    # redact_span names every field (no dataclasses.replace): a new one must be added there
    assert len(names) == 12, names
    for name in names:
        assert getattr(out, name) == getattr(span, name), name


def test_a_span_pickles_with_every_field():
    """SpanData and SpanEvent pickle by their fields in order (the import's rebuild child
    hands spans to its parent so): every field survives the round trip."""
    import dataclasses
    import pickle

    event = SpanEvent("e", 15, {"a": "b"})
    span = SpanData(
        7, 8, 9, "n", semconv.KIND_CLIENT, 10, 20, {"k": ("v",)}, "ERROR", "d", (event,), "codex"
    )
    assert len(dataclasses.fields(SpanData)) == 12 and len(dataclasses.fields(SpanEvent)) == 3
    back = pickle.loads(pickle.dumps([span, event], pickle.HIGHEST_PROTOCOL))
    assert back == [span, event]
    for name in (f.name for f in dataclasses.fields(SpanData)):
        assert getattr(back[0], name) == getattr(span, name), name


def _model_calls(history: list[dict], calls: int) -> list[SpanData]:
    """The chat spans of one session: every call's input holds the system prompt and the
    whole history so far (a span that carries the context its call resent)."""
    from staso_otel.span import build

    spans = []
    for i in range(calls):
        spans.append(
            build.chat_span(
                trace_id=1,
                span_id=i + 2,
                parent_span_id=1,
                start_ns=i,
                end_ns=i + 1,
                target="codex",
                session_id="s-1",
                request_model="gpt-x",
                input_messages=history[: 2 + i],
            )
        )
    return spans


def test_a_conversation_resent_on_every_call_is_scanned_once(monkeypatch):
    # Each model call repeats the system prompt and the history before it: scanning the
    # messages array whole on every call read the same text again each time (16 calls:
    # 14x the distinct content); message by message, each text is read once per session.
    from staso_otel.span import redact

    scanned: list[int] = []
    real = redact.redact_text
    monkeypatch.setattr(redact, "redact_text", lambda t: scanned.append(len(t)) or real(t))
    key = "ghp_" + "Zx9" * 12
    system = {"role": "system", "content": "You are a coding agent. " * 40}
    history = [system] + [
        {"role": "user" if i % 2 else "assistant", "content": f"step {i}: " + "ls -la src/ " * 12}
        for i in range(16)
    ]
    history[5] = {"role": "user", "content": f"use the token {key} to push"}
    spans = redact.redact_spans(_model_calls(history, 16), 16384)
    distinct = sum(len(json.dumps(m["content"])) for m in history)
    # each message twice: in the array, and as its OpenInference copy
    assert sum(scanned) < 3 * distinct
    for span in spans:
        text = span.attributes["gen_ai.input.messages"]
        assert key not in text and json.loads(text)  # still one parseable array
        assert type(text) is str  # what reaches the spool is a plain string
    assert spans == [redact_span(s, 16384) for s in _model_calls(history, 16)]


def test_a_messages_array_is_redacted_as_its_text_whole_for_every_corpus_secret():
    # redacted message by message, the array must come out as its whole text would
    from staso_otel.span import messages, redact

    for secret in CORPUS:
        for name, place in FORMATS + KEYED_FORMATS:
            convo = [
                messages.Message("system", (messages.TextPart("You are helpful."),)),
                messages.Message("user", (messages.TextPart(place(secret.line)),)),
                messages.Message("assistant", (messages.TextPart("done"),), "stop"),
            ]
            joined = messages.to_json(convo)
            assert joined == messages.dumps([m.to_dict() for m in convo])
            for cap in (16384, 256, 0):
                done = redact.Memo().clean(joined, cap)
                assert done == redact._clean_text(str(joined), cap), (secret.kind, name, cap)
                if cap != 256:  # 256 may cut the secret's tail away with the rest
                    assert not any(n in done[0] for n in needles(secret, name))


def test_a_message_that_ends_in_an_assignment_leaves_the_next_message_whole():
    # `API_KEY=` closing one message once took the array's own `"}]},{"` as its value,
    # and the redacted array no longer parsed
    from staso_otel.span import redact

    history = [
        {"role": "user", "content": "what should I run? export API_KEY="},
        {"role": "assistant", "content": "nothing yet"},
    ]
    (span,) = redact.redact_spans(_model_calls(history, 1), 16384)
    text = span.attributes["gen_ai.input.messages"]
    assert [m["parts"][0]["content"] for m in json.loads(text)] == [
        "what should I run? export API_KEY=",
        "nothing yet",
    ]


def test_a_message_text_is_scanned_once_not_again_in_its_quotes(monkeypatch):
    # A model call carries its input and output texts twice: inside the messages arrays
    # (in JSON quotes) and bare (the OpenInference copies, output.value); the quoted copy
    # was scanned again on every call. (A short array of one message is scanned whole, as
    # a plain str: see the next test.)
    from staso_otel.span import build, redact

    scanned: list[str] = []
    real = redact.redact_text
    monkeypatch.setattr(redact, "redact_text", lambda t: scanned.append(t) or real(t))
    prompt = "please deploy with token ghp_" + "Zx9" * 12 + " and check the logs" * 30
    answer = "Deployed; the log said password=Hunter2-and-more." + " All green." * 60
    span = build.chat_span(
        trace_id=1,
        span_id=2,
        start_ns=0,
        end_ns=1,
        target="codex",
        session_id="s-1",
        request_model="gpt-x",
        input_messages=prompt,
        output=answer,
    )
    (clean,) = redact.redact_spans([span], 16384)
    for text in (prompt, answer):
        assert [t for t in scanned if text in t] == [text]  # once, and bare
    for key in ("gen_ai.input.messages", "gen_ai.output.messages"):
        assert "[REDACTED:" in clean.attributes[key] and json.loads(clean.attributes[key])
    assert clean == redact_span(span, 16384)


def test_a_short_array_of_one_message_is_a_plain_text_redacted_whole():
    # Its pieces cost more to keep and walk than a second scan of a short text.
    from staso_otel.span import messages, redact

    key = "ghp_" + "Zx9" * 12
    short = messages.to_json([messages.Message("user", (messages.TextPart(f"use {key}"),))])
    assert type(short) is str and json.loads(short)[0]["parts"][0]["content"] == f"use {key}"
    clean, found, cut = redact.Memo().clean(short, 16384)
    assert (found, cut) == (1, False) and key not in clean and json.loads(clean)
    long = messages.to_json([messages.Message("user", (messages.TextPart("x" * 600),))])
    assert type(long) is messages.JoinedText


_ROLES = ("user", "assistant", "login", "mysql", "curl", "ssh login", 'a"b', "a\nb", "Login")
_FINISHES = (None, "stop", "tool_calls", "login", " -p S3cretPass1", "x -u me:S3cretPass1")
_TEXT_BITS = (
    " -p S3cretPass1",
    " -u me:S3cretPass1",
    " password S3cretPass1",
    "login me",
    "curl https://x",
    "mysql -u root",
    " token ",
    "API_KEY=",
    "\n",
    '"',
    "\\",
    "ok",
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(_ROLES),
            st.sampled_from(_FINISHES),
            st.lists(st.sampled_from(_TEXT_BITS + tuple(s.line for s in CORPUS)), max_size=4),
        ),
        min_size=1,
        max_size=3,
    )
)
def test_a_messages_array_in_pieces_redacts_as_its_whole_text(spec):
    # Texts that stand apart are looked up bare; a role or finish reason a rule can read
    # on from (`login`, `curl`, `mysql`, a space before a flag) keeps its message whole.
    from staso_otel.span import messages, redact

    convo = [
        messages.Message(role, (messages.TextPart("".join(bits)),), finish)
        for role, finish, bits in spec
    ]
    joined = messages.to_json(convo)
    assert joined == messages.dumps([m.to_dict() for m in convo])
    # each message scanned whole (a match across two messages is not looked for)
    whole = [redact_text(messages.dumps(m.to_dict())) for m in convo]
    expected = ("[" + ",".join(t for t, _ in whole) + "]", sum(n for _, n in whole), False)
    for cap in (16384, 0):
        memo = redact.Memo()
        for _, _, bits in spec:  # the bare texts met first, as a chat span's copies are
            memo.clean("".join(bits), cap)
        assert memo.clean(joined, cap) == expected


def test_a_role_a_rule_reads_on_from_keeps_its_message_whole():
    from staso_otel.span import messages

    text = "t" * 600  # long: an array of one short message is a plain str
    for role, finish in (("login", None), ("user", " -p x"), ("curl", "stop")):
        joined = messages.to_json([messages.Message(role, (messages.TextPart(text),), finish)])
        assert not joined.texts
    apart = messages.to_json([messages.Message("user", (messages.TextPart(text),), "stop")])
    assert apart.texts == ((2, text),)


@pytest.mark.parametrize(
    "ending", ["--password=", "--token ", "export TOKEN=", "Authorization:", "-p ", "--api-key="]
)
@pytest.mark.parametrize("before", ["", "step 1\n", "tab\t"])
def test_a_text_that_ends_where_a_secret_would_start_leaves_the_json_whole(before, ending):
    # A text ending in `--password=` took the JSON's own `"}]}]` after it as the password,
    # and the redacted messages array no longer parsed; so did the array as one string.
    from staso_otel.span import messages, redact

    text = before + "run it with " + ending
    convo = [
        messages.Message("user", (messages.TextPart(text),)),
        messages.Message("assistant", (messages.TextPart("ok"), messages.TextPart(text))),
    ]
    joined = messages.to_json(convo)
    for clean in (redact.Memo().clean(joined, 16384)[0], redact_text(str(joined))[0]):
        back = json.loads(clean)
        assert [p["content"] for m in back for p in m["parts"]] == [text, "ok", text]
    for value in (json.dumps({"args": [text]}), json.dumps([[text]])):
        assert json.loads(redact_text(value)[0]) == json.loads(value)


def test_a_messages_array_pickles_once_over_and_back_whole():
    # The import's child hands its parent spans by pickle: a text carried bare beside its
    # quoted piece doubled the message's share of what crossed.
    import pickle

    from staso_otel.span import messages

    text = "a long answer " * 400
    joined = messages.to_json(
        [
            messages.Message("user", (messages.TextPart(text),)),
            messages.Message("assistant", (messages.TextPart("ok"),), "stop"),
        ]
    )
    assert joined.texts  # the text stands apart: the case that carried it twice
    data = pickle.dumps(joined, pickle.HIGHEST_PROTOCOL)
    assert len(data) < 1.2 * len(joined)
    back = pickle.loads(data)
    assert type(back) is type(joined) and back == joined
    assert back.pieces == joined.pieces and back.texts == joined.texts


_JSON_BITS = (
    "--password", "--token", "--api-key", "=", ":", " ", "\n", "\t", '"', "'", "\\",
    "Authorization", "Bearer ", "token", "password", "API_KEY", "TOKEN", "export ", "login ",
    "curl -u ", "mysql -p", "-p ", "me:", "{", "}", "[", "]", ",", "%3D", "://u:", "@",
    "value", "name: DB_PASSWORD", "<password>", "</password>", "sig=", "Basic ", "abc123XYZ",
)  # fmt: skip


# where a secret would start: a text that ends in one leaves the JSON after it to a rule
_OPENERS = (
    "", "--password=", "--token ", "export TOKEN=", "Authorization:", "Authorization: Bearer ",
    "password: ", "<password>", "Basic ", "login me password ", "curl -u me:", "mysql -u r -p",
    "-----BEGIN RSA PRIVATE KEY-----", "https://u:", "sig=", "DB_PASSWORD\n  value: ",
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.sampled_from(_JSON_BITS + tuple(s.line for s in CORPUS[::7])), max_size=6),
    st.sampled_from(_OPENERS),
    st.sampled_from([None, "stop"]),
)
def test_redaction_never_breaks_the_json_a_text_sits_in(bits, opener, finish):
    # what a rule takes as a secret stops at the text's end, whatever the text ends in
    from staso_otel.span import messages, redact

    text = "".join(bits) + opener
    for value in (json.dumps([[text]]), json.dumps({"a": {"b": text}, "c": 1})):
        json.loads(redact_text(value)[0])
    joined = messages.to_json(
        [
            messages.Message("user", (messages.TextPart(text),), finish),
            messages.Message("assistant", (messages.TextPart("ok"),)),
        ]
    )
    for clean in (redact.Memo().clean(joined, 16384)[0], redact_text(str(joined))[0]):
        json.loads(clean)


_MEMO_TEXTS = st.one_of(
    st.sampled_from(
        [
            "plain words",
            "token ghp_" + "Zx9" * 12 + " here",
            "x" * 300,  # over a small cap: cut
            "API_KEY=sk-proj-" + "a1B2c3D4" * 6,
        ]
    ),
    st.text(min_size=0, max_size=40),
)


@settings(max_examples=150, deadline=None)
@given(
    picks=st.lists(
        st.tuples(_MEMO_TEXTS, st.sampled_from([0, 64, 4096]), st.booleans()), max_size=12
    ),
    budget=st.sampled_from([50, 4_000_000]),
)
# known clean uncut, then met over a quarter of a smaller cap: cut all the same
@example(picks=[("x" * 300, 0, False), ("x" * 300, 64, False)], budget=4_000_000)
@example(picks=[("x" * 300, 0, True), ("x" * 300, 64, True)], budget=4_000_000)
def test_the_memo_gives_what_a_fresh_scan_gives_whatever_it_met_before(picks, budget):
    # Texts met again, under other caps, as a messages array or bare, past the budget:
    # the result is the one a memo-less clean gives, and a plain str, never a JoinedText.
    from staso_otel.span import messages, redact

    memo = redact.Memo(budget=budget)
    for text, cap, as_messages in picks:
        value = (  # two messages: a messages array in pieces (JoinedText)
            messages.to_json(
                [
                    messages.Message("user", (messages.TextPart(text),)),
                    messages.Message("assistant", (messages.TextPart("ok"),)),
                ]
            )
            if as_messages
            else text
        )
        expected = redact._clean_text(str.__str__(value), cap)
        got = memo.clean(value, cap)
        assert got == expected and type(got[0]) is str
        assert memo.clean(value, cap) == expected  # and again, from the memo
        # and through clean_attributes, which tests the memo's sets itself first
        attrs, secrets, cut = redact.clean_attributes({"k": value}, cap, memo)
        assert (attrs["k"], secrets, bool(cut)) == expected and type(attrs["k"]) is str
    kept = sum(len(t) for texts in memo._as_is.values() for t in texts)
    kept += sum(len(t) + len(d[0]) for done in memo._done.values() for t, d in done.items())
    assert kept <= budget


def test_a_scope_is_cleaned_in_place_as_a_span_is_and_keeps_its_order():
    import decimal

    from staso_otel.span import messages, redact

    key = "ghp_" + "Zx9" * 12
    array = messages.to_json([messages.Message("user", (messages.TextPart(f"use {key}"),))])
    attrs = {"a": "plain", "b": f"token {key}", "c": 3, "d": ("x", key), "e": array, "f": "y" * 99}
    span = SpanData(1, 2, None, f"run {key}", semconv.KIND_INTERNAL, 0, 1, dict(attrs))
    name, copy, _, _ = redact.clean_span(span, 64, redact.Memo())
    own = dict(attrs)
    same_name, same, _, plain = redact.clean_scope(f"run {key}", own, None, 64, redact.Memo())
    assert same is own and same == copy and list(same) == list(copy) and same_name == name
    assert same[semconv.STASO_REDACTED] == 4 and same[semconv.STASO_TRUNCATED] == ("e", "f")
    assert type(same["e"]) is str and key not in repr(same) + same_name
    assert plain  # every value a str, int or tuple: the SDK need not look at them again
    odd = redact.clean_scope("n", {"a": "x", "b": decimal.Decimal(1)}, None, 64, redact.Memo())
    assert odd[3] is False
