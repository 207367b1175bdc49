"""The tests' HTTP stand-ins shut down whatever their listening socket went through."""

from __future__ import annotations

import threading
import urllib.request
from http.server import BaseHTTPRequestHandler

from loopback_http import LoopbackHTTPServer


class _Ok(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_accepting_when_no_connection_waits_returns_at_once_and_serving_goes_on():
    # What serve_forever does once poll() has seen a connection: if that connection was
    # taken before accept(), a blocking listener waited there for ever, and the teardown
    # that called shutdown() with it (a CI run held to its limit).
    server = LoopbackHTTPServer(("127.0.0.1", 0), _Ok)
    try:
        accept = threading.Thread(target=server._handle_request_noblock, daemon=True)
        accept.start()
        accept.join(5)
        assert not accept.is_alive()
        serving = threading.Thread(target=server.serve_forever, daemon=True)
        serving.start()
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        with urllib.request.urlopen(url, timeout=10) as answer:
            assert answer.status == 204
        server.shutdown()
        serving.join(5)
        assert not serving.is_alive()
    finally:
        server.server_close()
