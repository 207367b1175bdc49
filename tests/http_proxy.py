"""A small forward proxy for tests, on 127.0.0.1:<free port>.

It speaks the two forms a client behind HTTP(S)_PROXY uses: CONNECT host:port (a tunnel
for https, bytes piped both ways) and an absolute-form request (`POST http://host/...`
for http, forwarded upstream in origin form). Every request line it receives is kept in
`seen`, with the Proxy-Authorization header if there was one. Sockets time out; the
threads are daemons.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from urllib.parse import urlsplit

TIMEOUT_S = 10.0


def _read_head(conn: socket.socket, buf: bytes) -> tuple[bytes, bytes] | None:
    while b"\r\n\r\n" not in buf:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        buf += chunk
        if len(buf) > 1 << 20:
            return None
    head, rest = buf.split(b"\r\n\r\n", 1)
    return head, rest


def _headers(head: bytes) -> dict[str, str]:
    out = {}
    for line in head.decode("latin-1").split("\r\n")[1:]:
        name, _, value = line.partition(":")
        out[name.strip().lower()] = value.strip()
    return out


def _pipe(a: socket.socket, b: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while chunk := a.recv(65536):
            b.sendall(chunk)
    with contextlib.suppress(OSError):
        b.shutdown(socket.SHUT_WR)


class Proxy:
    def __init__(self, routes: dict[tuple[str, int], tuple[str, int]] | None = None) -> None:
        self.seen: list[tuple[str, str | None]] = []  # (request line, Proxy-Authorization)
        # (host, port) a client names -> where the proxy connects instead: an address only
        # the proxy reaches, as behind a corporate proxy
        self.routes = routes or {}
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self) -> Proxy:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop listening: connections are refused from now on (shutdown wakes the
        accepting thread; close alone would leave it accepting)."""
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self._listener.close()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = self._listener.accept()
                conn.settimeout(TIMEOUT_S)
                threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with contextlib.closing(conn), contextlib.suppress(OSError):
            buf = b""
            for _ in range(1000):  # requests on one kept-alive client connection
                got = _read_head(conn, buf)
                if got is None:
                    return
                head, buf = got
                line = head.split(b"\r\n", 1)[0].decode("latin-1")
                headers = _headers(head)
                self.seen.append((line, headers.get("proxy-authorization")))
                method, target, _ = line.split(" ", 2)
                if method == "CONNECT":
                    host, _, port = target.rpartition(":")
                    where = self.routes.get((host, int(port)), (host, int(port)))
                    upstream = socket.create_connection(where, TIMEOUT_S)
                    conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    if buf:
                        upstream.sendall(buf)
                    back = threading.Thread(target=_pipe, args=(upstream, conn), daemon=True)
                    back.start()
                    _pipe(conn, upstream)
                    back.join(TIMEOUT_S)
                    upstream.close()
                    return
                length = int(headers.get("content-length", "0"))
                while len(buf) < length:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buf += chunk
                body, buf = buf[:length], buf[length:]
                conn.sendall(self._forward(method, target, head, body))

    def _forward(self, method: str, target: str, head: bytes, body: bytes) -> bytes:
        """One absolute-form request sent on in origin form; the whole answer back."""
        url = urlsplit(target)
        lines = head.decode("latin-1").split("\r\n")[1:]
        keep = [h for h in lines if not h.lower().startswith(("proxy-", "connection:"))]
        path = url.path + (f"?{url.query}" if url.query else "")
        request = "\r\n".join([f"{method} {path} HTTP/1.1", *keep, "Connection: close"])
        named = (url.hostname or "", url.port or 80)
        with socket.create_connection(self.routes.get(named, named), TIMEOUT_S) as upstream:
            upstream.sendall(request.encode("latin-1") + b"\r\n\r\n" + body)
            answer = b""
            while chunk := upstream.recv(65536):
                answer += chunk
        return answer
