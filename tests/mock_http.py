"""What every scripted model API on 127.0.0.1 shares: the server, its thread, the replies.

A mock (mock_responses, mock_anthropic, mock_gemini, mock_llm) subclasses `MockServer`
and answers in `on_post` (and `on_get` where its CLI asks for something first) through the
`MockHandler` it is given; it keeps only its own API's facts: routes, scripts, the shape
of an answer. `start()` binds an ephemeral port on loopback and serves on a daemon thread.
"""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, TypeVar

from loopback_http import LoopbackHTTPServer

_M = TypeVar("_M", bound="MockServer")


class MockHandler(BaseHTTPRequestHandler):
    """One request, answered by the mock the server was started for."""

    protocol_version = "HTTP/1.1"
    mock: ClassVar[MockServer]

    def setup(self) -> None:
        super().setup()
        # headers and body go out in separate writes: without this, Nagle's algorithm and
        # the client's delayed ACK hold the body back ~40 ms
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *args: Any) -> None:
        pass

    @property
    def route(self) -> str:
        """The path without its query."""
        return self.path.split("?")[0]

    def body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("content-length") or 0))

    def send_body(self, code: int, content_type: str, data: bytes) -> None:
        self.send_response(code)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def send_json(self, code: int, obj: Any) -> None:
        self.send_body(code, "application/json", json.dumps(obj).encode())

    def stream(self, chunks: list[bytes]) -> None:
        """A 200 Server-Sent Events answer, the connection closed at its end."""
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("connection", "close")
        self.end_headers()
        self.close_connection = True
        for chunk in chunks:
            self.wfile.write(chunk)
            self.wfile.flush()

    def do_GET(self) -> None:
        self.mock.on_get(self)

    def do_HEAD(self) -> None:
        self.mock.on_head(self)

    def do_POST(self) -> None:
        self.mock.on_post(self)


class MockServer:
    """A scripted HTTP API on 127.0.0.1; `base_url` is what the client is pointed at."""

    url_path: ClassVar[str] = ""  # appended to the origin in base_url (e.g. "/v1")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.url_path}"

    def start(self: _M) -> _M:
        handler = type(f"{type(self).__name__}Handler", (MockHandler,), {"mock": self})
        self._server = LoopbackHTTPServer(("127.0.0.1", 0), handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def on_get(self, request: MockHandler) -> None:
        request.send_json(404, {})

    def on_head(self, request: MockHandler) -> None:
        request.send_body(404, "application/json", b"")

    def on_post(self, request: MockHandler) -> None:
        raise NotImplementedError
