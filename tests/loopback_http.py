"""The HTTP server every stand-in on 127.0.0.1 runs (model APIs, OTLP receivers)."""

from __future__ import annotations

import sys
from http.server import ThreadingHTTPServer
from typing import Any


class LoopbackHTTPServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer whose teardown cannot hang: handler threads are daemons, and
    the listening socket never blocks in accept().

    serve_forever accepts only after poll() saw a connection waiting. Should that
    connection be taken first (a descriptor closed by mistake elsewhere in the process
    and reused by another server's socket), a blocking accept() waits for ever, and
    shutdown() waits with it: a test's teardown hung so in CI, twice, after the test had
    failed. Non-blocking, accept() raises, the server polls again and shuts down.
    """

    daemon_threads = True

    def server_activate(self) -> None:
        super().server_activate()
        self.socket.setblocking(False)  # connections accepted from it still block

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client gone before its answer (an exporter's timeout, a process a test
        killed, a kept-alive connection reset at exit) is not a traceback on stderr."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)
