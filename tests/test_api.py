"""`import staso_otel` for your own agent: the same spans as a traced Codex turn."""

from __future__ import annotations

import asyncio
import contextvars
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from api_helpers import configure_in_memory, span_ids
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pipeline_helpers import run_staso

import staso_otel
from staso_otel import semconv
from staso_otel.api import config
from staso_otel.span import build

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def spans():
    yield configure_in_memory(agent="triage-bot", provider="openai")
    config.reset()


def by_name(exporter: InMemorySpanExporter) -> dict:
    return {s.name: s for s in exporter.get_finished_spans()}


def run_turn() -> None:
    with staso_otel.turn("find the bug", session_id="sess-1", model="gpt-5") as turn:
        with staso_otel.llm_call("gpt-5") as call:
            call.set_usage(812, 64, cache_read_tokens=100, reasoning_tokens=8)
            call.set_response("I will grep", response_id="resp_1")
        with staso_otel.tool_call(
            "grep", {"pattern": "TODO"}, call_id="c1", category=semconv.CATEGORY_SHELL
        ) as tool:
            tool.set_result("a.py:3: TODO")
        turn.set_response("found it")


def test_api_spans_equal_the_builders_output_for_the_same_facts(spans):
    run_turn()
    got = by_name(spans)
    root, chat, tool = got["invoke_agent triage-bot"], got["chat gpt-5"], got["execute_tool grep"]
    assert chat.parent.span_id == root.context.span_id == tool.parent.span_id
    assert {chat.context.trace_id, tool.context.trace_id} == {root.context.trace_id}

    usage = build.Usage(812, 64, 100, 0, 8)
    expected = {
        root.name: build.turn_span(
            **span_ids(root),
            agent_name="triage-bot",
            target="triage-bot",
            session_id="sess-1",
            provider="openai",
            model="gpt-5",
            prompt="find the bug",
            response="found it",
            usage=usage,
            model_calls=1,
            outcome=semconv.TURN_COMPLETED,
        ),
        chat.name: build.chat_span(
            **span_ids(chat),
            request_model="gpt-5",
            target="triage-bot",
            session_id="sess-1",
            provider="openai",
            usage=usage,
            response_id="resp_1",
            output="I will grep",
            agent_name="triage-bot",
        ),
        tool.name: build.tool_span(
            **span_ids(tool),
            tool_name="grep",
            target="triage-bot",
            session_id="sess-1",
            call_id="c1",
            category=semconv.CATEGORY_SHELL,
            arguments={"pattern": "TODO"},
            result="a.py:3: TODO",
        ),
    }
    for span in (root, chat, tool):
        want = expected[span.name]
        assert dict(span.attributes) == dict(want.attributes), span.name
        assert span.kind.name == want.kind and span.name == want.name
    assert root.attributes[semconv.STASO_USAGE_INPUT_TOKENS] == 812


def test_user_exceptions_mark_error_and_propagate(spans):
    with pytest.raises(KeyError), staso_otel.turn("x"), staso_otel.tool_call("lookup"):
        raise KeyError("missing")
    got = by_name(spans)
    for name in ("execute_tool lookup", "invoke_agent triage-bot"):
        assert got[name].status.status_code.name == "ERROR"
        assert got[name].attributes[semconv.ERROR_TYPE] == "KeyError"
    assert got["invoke_agent triage-bot"].attributes[semconv.STASO_TURN_OUTCOME] == "failed"


def test_decorated_tools_sync_and_async_and_asyncio_nesting(spans):
    @staso_otel.tool
    def add(a: int, b: int = 2) -> int:
        return a + b

    @staso_otel.tool(name="fetch", category=semconv.CATEGORY_SYSTEM)
    async def fetch(url: str) -> str:
        await asyncio.sleep(0)
        return f"<{url}>"

    async def main() -> None:
        async with staso_otel.turn("go", session_id="s-async"):
            await asyncio.gather(fetch("a"), fetch("b"))
            add(1)

    asyncio.run(main())
    finished = spans.get_finished_spans()
    root = next(s for s in finished if s.name == "invoke_agent triage-bot")
    children = [s for s in finished if s is not root]
    assert sorted(s.name for s in children) == [
        "execute_tool add",
        "execute_tool fetch",
        "execute_tool fetch",
    ]
    assert all(s.parent.span_id == root.context.span_id for s in children)
    assert all(s.attributes[semconv.SESSION_ID] == "s-async" for s in children)
    add_span = next(s for s in children if s.name == "execute_tool add")
    assert add_span.attributes[semconv.GEN_AI_TOOL_CALL_ARGUMENTS] == '{"a":1,"b":2}'
    assert add_span.attributes[semconv.GEN_AI_TOOL_CALL_RESULT] == "3"


def test_nesting_follows_a_copied_context_into_threads(spans):
    with staso_otel.turn("threads", session_id="s-thr"):
        ctx = contextvars.copy_context()

        def work() -> None:
            with staso_otel.tool_call("in_thread"):
                pass

        thread = threading.Thread(target=ctx.run, args=(work,))
        thread.start()
        thread.join(timeout=30)
    got = by_name(spans)
    child = got["execute_tool in_thread"]
    assert child.parent.span_id == got["invoke_agent triage-bot"].context.span_id
    assert child.attributes[semconv.SESSION_ID] == "s-thr"


def test_content_off_keeps_metadata_only():
    exporter = configure_in_memory(capture_content=False)
    try:
        run_turn()
    finally:
        config.reset()
    for span in exporter.get_finished_spans():
        assert not set(span.attributes) & build.CONTENT_KEYS
    assert by_name(exporter)["chat gpt-5"].attributes[semconv.GEN_AI_USAGE_INPUT_TOKENS] == 812


def test_secrets_are_redacted_like_the_hook_runtime(spans):
    with staso_otel.tool_call(
        "env", {"cmd": "export OPENAI_API_KEY=sk-proj-abcdefghijklmnopqrstu12"}
    ):
        pass
    span = by_name(spans)["execute_tool env"]
    assert "sk-proj-abcdefghijklmnopqrstu12" not in str(dict(span.attributes))
    assert span.attributes[semconv.STASO_REDACTED] >= 1


def test_the_applications_own_provider_keeps_working():
    theirs = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(theirs))
    ours = InMemorySpanExporter()
    returned = staso_otel.configure(
        exporter=ours, tracer_provider=provider, endpoint="http://127.0.0.1:9"
    )
    try:
        assert returned is provider
        app_tracer = provider.get_tracer("app")
        with app_tracer.start_as_current_span("app-request"), staso_otel.tool_call("t"):
            pass
    finally:
        config.reset()
    names = sorted(s.name for s in theirs.get_finished_spans())
    assert names == ["app-request", "execute_tool t"]
    tool = ours.get_finished_spans()[0]
    app = next(s for s in theirs.get_finished_spans() if s.name == "app-request")
    assert tool.parent.span_id == app.context.span_id


def test_configure_sets_the_global_provider_only_when_none_exists():
    code = (
        "import staso_otel; from opentelemetry import trace;"
        "from opentelemetry.sdk.trace import TracerProvider;"
        "from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter;"
        "p = staso_otel.configure(exporter=InMemorySpanExporter(), endpoint='http://127.0.0.1:9');"
        "assert trace.get_tracer_provider() is p;"
        "q = staso_otel.configure(exporter=InMemorySpanExporter(), endpoint='http://127.0.0.1:9');"
        "assert q is p; print('ok')"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == "ok", proc.stderr


def test_missing_key_for_the_staso_endpoint_is_a_clear_error():
    from staso_otel.settings import SettingsError

    with pytest.raises(SettingsError, match="no API key"):
        staso_otel.configure(tracer_provider=TracerProvider())


def test_durable_mode_survives_a_collector_outage(isolated_homes, tmp_path):
    """A process traces a turn and exits while the collector is down; once it is up,
    `staso flush` delivers every span."""
    from otlp_receiver import Receiver

    probe = Receiver().start()
    port = probe.port
    probe.stop()
    endpoint = f"http://127.0.0.1:{port}"
    script = (
        "import staso_otel\n"
        f"staso_otel.configure(agent='durable-bot', durable=True, endpoint={endpoint!r})\n"
        "with staso_otel.turn('hi', session_id='d1'):\n"
        "    with staso_otel.llm_call('m') as c:\n"
        "        c.set_usage(10, 2)\n"
        "    with staso_otel.tool_call('t'):\n"
        "        pass\n"
    )
    env = {
        **os.environ,
        "STASO_ENDPOINT": endpoint,
        "STASO_WORKER_IDLE_SECONDS": "0.2",
        "STASO_EXPORT_TIMEOUT": "1",
    }
    proc = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    up = Receiver().start(port=port)
    try:
        flush = run_staso("flush", env=env)
        assert flush.returncode == 0, flush.stdout + flush.stderr
        assert up.wait_for(lambda s: len(s) >= 3, timeout_s=30)
        names = sorted(s["name"] for s in up.spans)
        assert names == ["chat m", "execute_tool t", "invoke_agent durable-bot"]
        assert up.spans[0]["resource"]["service.name"] == "durable-bot"
    finally:
        up.stop()


def _asks_for(*calls: tuple[str, str, str]) -> dict:
    """An assistant message in the Chat Completions shape that calls tools."""
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": cid, "type": "function", "function": {"name": name, "arguments": args}}
            for cid, name, args in calls
        ],
    }


def test_tool_spans_take_the_call_ids_the_model_asked_for(spans):
    @staso_otel.tool
    def grep(pattern: str, path: str = ".") -> str:
        return f"{path}: {pattern}"

    with staso_otel.turn("find", session_id="s-ids"):
        with staso_otel.llm_call("gpt-5") as call:
            call.set_response(
                _asks_for(
                    ("call_a", "grep", '{"pattern": "TODO"}'),
                    ("call_b", "grep", '{"pattern": "FIXME"}'),
                    ("call_c", "ls", "{}"),
                    ("call_d", "ls", "{}"),
                )
            )
        grep("FIXME")  # run out of order: matched by its arguments, not by position
        grep("TODO")
        with staso_otel.tool_call("ls", {}, call_id="call_d"):
            pass  # given its id: call_d is no longer waiting
        with staso_otel.tool_call("ls", {}):
            pass
        with staso_otel.tool_call("ls", {}):
            pass  # nothing left to claim
    tools = [s for s in spans.get_finished_spans() if s.name.startswith("execute_tool")]
    ids = [(s.name, s.attributes.get(semconv.GEN_AI_TOOL_CALL_ID)) for s in tools]
    assert ids == [
        ("execute_tool grep", "call_b"),
        ("execute_tool grep", "call_a"),
        ("execute_tool ls", "call_d"),
        ("execute_tool ls", "call_c"),
        ("execute_tool ls", None),
    ]


def test_tool_call_ids_stay_inside_their_turn(spans):
    @staso_otel.tool
    def grep(pattern: str) -> str:
        return pattern

    with staso_otel.turn("one", session_id="s-1"), staso_otel.llm_call("gpt-5") as call:
        call.set_response(_asks_for(("call_x", "grep", '{"pattern": "a"}')))
    grep("a")  # outside any turn
    with staso_otel.turn("two", session_id="s-1"):
        grep("a")  # another turn: its model asked for nothing
    tools = [s for s in spans.get_finished_spans() if s.name == "execute_tool grep"]
    assert [s.attributes.get(semconv.GEN_AI_TOOL_CALL_ID) for s in tools] == [None, None]


def test_llm_call_system_instructions_become_the_conventions_attribute(spans):
    with staso_otel.llm_call("gpt-5", system_instructions="be brief", input_messages="hi"):
        pass
    [chat] = spans.get_finished_spans()
    assert chat.attributes[semconv.GEN_AI_SYSTEM_INSTRUCTIONS] == (
        '[{"type":"text","content":"be brief"}]'
    )


def test_texts_recurring_across_turns_are_scanned_for_secrets_once(spans, monkeypatch):
    from staso_otel.span import redact

    scanned: list[str] = []
    real = redact.redact_text
    monkeypatch.setattr(redact, "redact_text", lambda t: scanned.append(t) or real(t))
    key = "ghp_" + "Zx9" * 12
    for n in range(3):
        with staso_otel.turn(f"fix bug {n}", session_id="sess-9") as turn:
            with staso_otel.tool_call("shell", {"command": f"git push https://{key}@x/y"}):
                pass
            turn.set_response("pushed, with the same long system reply every time " * 4)
    # the session id, agent and tool names, the reply: once for all three turns
    assert scanned.count("sess-9") == 1 and scanned.count("triage-bot") == 1
    assert sum("same long system reply" in t for t in scanned) == 1
    exported = spans.get_finished_spans()
    assert len(exported) == 6
    for span in exported:
        assert key not in repr(dict(span.attributes)) and key not in span.name
    tools = [s for s in exported if s.name == "execute_tool shell"]
    assert all(s.attributes[semconv.STASO_REDACTED] == 2 for s in tools)  # arguments, input
