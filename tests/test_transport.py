"""The worker's HTTP transport keeps one connection across its requests, and replaces a
kept connection the server closed while it was idle without sending anything twice.
A real HTTP/1.1 server on 127.0.0.1 that counts connections and requests."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler

import pytest
from loopback_http import LoopbackHTTPServer

from staso_otel import settings
from staso_otel.export import otlp
from staso_otel.span.model import SpanData


class _Server:
    def __init__(self, close_after_answer: bool) -> None:
        self.peers: list[tuple[str, int]] = []
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive unless someone closes

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                server.requests += 1
                if self.client_address not in server.peers:
                    server.peers.append(self.client_address)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
                if close_after_answer:  # an idle timeout, unannounced
                    self.close_connection = True

            def log_message(self, *args: object) -> None:
                pass

        self.http = LoopbackHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.http.server_address[1]}/v1/traces"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.http.shutdown()
        self.http.server_close()


SENDS = 40


def _span(n: int) -> SpanData:
    return SpanData(n + 1, n + 1, None, f"s{n}", "INTERNAL", 10, 20, {"n": n}, target="codex")


@pytest.mark.parametrize("closes", [False, True])
def test_one_connection_for_a_workers_requests_and_a_closed_one_is_replaced(closes):
    server = _Server(close_after_answer=closes)
    sender = otlp.Sender(settings.load(overrides={"endpoint": server.endpoint}))
    try:
        outcomes = [sender.send([_span(n)]).kind for n in range(SENDS)]
    finally:
        sender.shutdown()
        server.stop()
    assert outcomes == ["ok"] * SENDS  # requests' pool sent some on the closed connection
    assert server.requests == SENDS  # nothing sent twice
    assert len(server.peers) == (SENDS if closes else 1)
