"""`staso collector` as a real process on 127.0.0.1, fed by real HTTP clients.

A sender must get 200 only for spans that were stored: a chunked body (no Content-Length)
is read, a body it cannot parse gets 4xx, a store that fails gets 503 (retryable), and the
collector keeps running after each.
"""

from __future__ import annotations

import gzip
import http.client
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from staso_otel.local.store import Store


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Running:
    def __init__(self, home: Path, port: int, proc: subprocess.Popen) -> None:
        self.home, self.port, self.proc = home, port, proc
        self.store_path = home / "local" / "traces.sqlite"

    def stored(self) -> set[str]:
        store = Store(self.store_path)
        try:
            return {s["name"] for t in store.trace_ids(last=None) for s in store.trace(t)}
        finally:
            store.close()


@pytest.fixture
def staso_collector(tmp_path) -> Iterator[Running]:
    home = tmp_path / "staso-home"
    port = free_port()
    env = {**os.environ, "STASO_HOME": str(home), "NO_COLOR": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "staso_cli.entry", "collector", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()  # "listening on ..." once the socket is bound
        assert "listening on" in line, proc.stderr.read()
        yield Running(home, port, proc)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def otlp_body(*names: str) -> bytes:
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("t")
    for name in names:
        with tracer.start_as_current_span(name):
            pass
    return encode_spans(memory.get_finished_spans()).SerializeToString()


def chunked_post(port: int, body: bytes, *, encoding: str | None = None) -> int:
    """A POST with Transfer-Encoding: chunked and no Content-Length, in 3 chunks."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/x-protobuf"}
    if encoding:
        headers["Content-Encoding"] = encoding
    third = max(1, len(body) // 3)
    pieces = [body[i : i + third] for i in range(0, len(body), third)]
    try:
        conn.request("POST", "/v1/traces", body=iter(pieces), headers=headers, encode_chunked=True)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def raw_post(port: int, head: bytes, body: bytes) -> int:
    """Bytes as written, for framings http.client would not produce."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head + body)
        sock.shutdown(socket.SHUT_WR)  # the body ends here, however it was framed
        reply = sock.makefile("rb").readline()
    return int(reply.split()[1])


def test_a_chunked_protobuf_post_is_stored(staso_collector):
    assert chunked_post(staso_collector.port, otlp_body("chunked-a", "chunked-b")) == 200
    assert staso_collector.stored() == {"chunked-a", "chunked-b"}


def test_a_chunked_gzipped_post_is_stored(staso_collector):
    body = gzip.compress(otlp_body("chunked-gzip"))
    assert chunked_post(staso_collector.port, body, encoding="gzip") == 200
    assert staso_collector.stored() == {"chunked-gzip"}


def test_the_sdk_exporter_with_gzip_gets_its_spans_stored(staso_collector):
    provider = TracerProvider()
    exporter = OTLPSpanExporter(
        endpoint=f"http://127.0.0.1:{staso_collector.port}/v1/traces",
        compression=Compression.Gzip,
    )
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    with provider.get_tracer("t").start_as_current_span("sdk-span"):
        pass
    assert exporter.export(memory.get_finished_spans()) == SpanExportResult.SUCCESS
    assert staso_collector.stored() == {"sdk-span"}


@pytest.mark.parametrize(
    "head, body",
    [
        # chunk size that is not hex
        (b"Transfer-Encoding: chunked\r\n", b"zz\r\nabc\r\n0\r\n\r\n"),
        # a chunk shorter than announced, then the sender stops writing
        (b"Transfer-Encoding: chunked\r\n", b"40\r\n\x0a\x02"),
        # gzip header that is not gzip
        (b"Content-Encoding: gzip\r\nContent-Length: 9\r\n", b"not gzip!"),
        # a compression the collector does not speak
        (b"Content-Encoding: br\r\nContent-Length: 4\r\n", b"\x0a\x00\x0a\x00"),
        # not protobuf
        (b"Transfer-Encoding: chunked\r\n", b"5\r\n\xff\xff\xff\xff\xff\r\n0\r\n\r\n"),
    ],
    ids=["bad-chunk-size", "truncated-chunk", "bad-gzip", "unknown-encoding", "garbage"],
)
def test_a_body_it_cannot_read_gets_400_and_it_keeps_running(staso_collector, head, body):
    request = (
        b"POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/x-protobuf\r\nConnection: close\r\n" + head + b"\r\n"
    )
    assert raw_post(staso_collector.port, request, body) == 400
    assert chunked_post(staso_collector.port, otlp_body("after-bad")) == 200
    assert staso_collector.stored() == {"after-bad"}


def test_a_store_failure_gets_503_and_the_resent_spans_are_kept(staso_collector):
    assert chunked_post(staso_collector.port, otlp_body("first")) == 200
    store = staso_collector.store_path
    good = store.read_bytes()
    store.write_bytes(b"\0" * len(good))  # the collector's open database is now unreadable
    body = otlp_body("during-failure")
    assert chunked_post(staso_collector.port, body) == 503
    provider_exporter = OTLPSpanExporter(
        endpoint=f"http://127.0.0.1:{staso_collector.port}/v1/traces", timeout=1
    )
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    with provider.get_tracer("t").start_as_current_span("sdk-during-failure"):
        pass
    # the SDK exporter is told the export failed (it retries 503 until its timeout)
    assert provider_exporter.export(memory.get_finished_spans()) == SpanExportResult.FAILURE
    store.write_bytes(good)
    assert chunked_post(staso_collector.port, body) == 200  # the sender's retry
    assert staso_collector.stored() == {"first", "during-failure"}
