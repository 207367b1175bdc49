"""One OTLP/HTTP POST at a time over the standard library's http.client. [stdlib]

What the worker needs of HTTP is small: POST a body to one URL, read the status and two
headers, reuse the connection for the next request. `requests` brought urllib3, email,
charset detection and its adapters with it, a quarter of a cold worker's start-up; this
is that subset, with what requests gave for free kept on purpose:

- https verified against the configured CA bundle (`certificate`), else REQUESTS_CA_BUNDLE
  / CURL_CA_BUNDLE as requests read them, else certifi's bundle when installed (requests'
  default), else the system's; mTLS with `client_certificate` / `client_key`.
- HTTPS_PROXY / HTTP_PROXY / ALL_PROXY / NO_PROXY from the environment (a CONNECT tunnel
  for https, an absolute-form request for http; user:password in the proxy URL sent as
  Proxy-Authorization; NO_PROXY's names, suffixes and, as requests reads them, networks
  such as `127.0.0.0/8`). urllib.request reads them, imported only when one is set.
- never a redirect followed; Retry-After as seconds or an HTTP-date.
- one connection kept alive across the requests of a worker; a kept connection the
  server closed while idle is replaced, and a request that fails on a reused
  connection before any answer is sent once more on a fresh one (as urllib3 does).
"""

from __future__ import annotations

import contextlib
import http.client
import os
import select
import ssl
import time
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from staso_otel import __version__

USER_AGENT = f"staso/{__version__}"
MAX_ANSWER_BYTES = 1024 * 1024  # an answer larger than this is not read: the connection closes
_PROXY_VARS = ("https_proxy", "http_proxy", "all_proxy", "no_proxy")


@dataclass(frozen=True)
class Answer:
    status: int
    retry_after_s: float | None = None
    location: str | None = None


class TransportError(Exception):
    """No HTTP answer; str() is one line a user can act on, `cause` the error itself."""

    def __init__(self, detail: str, cause: BaseException) -> None:
        super().__init__(detail)
        self.cause = cause


@dataclass(frozen=True)
class Tls:
    """What the ssl context is built from (settings' certificate, client cert and key)."""

    certificate: str | None = None
    client_certificate: str | None = None
    client_key: str | None = None


def ssl_context(tls: Tls) -> ssl.SSLContext:
    cafile = tls.certificate or _ambient_ca_bundle()
    if cafile and os.path.isdir(cafile):
        context = ssl.create_default_context(capath=cafile)
    elif cafile:
        context = ssl.create_default_context(cafile=cafile)
    else:
        context = ssl.create_default_context()
    if tls.client_certificate:
        context.load_cert_chain(tls.client_certificate, tls.client_key or None)
    return context


def _ambient_ca_bundle() -> str | None:
    """The bundle requests verified with when none was configured."""
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        if os.environ.get(name):
            return os.environ[name]
    try:
        import certifi
    except ImportError:
        return None
    return certifi.where()


@dataclass(frozen=True)
class _Proxy:
    host: str
    port: int
    authorization: str | None


def proxy_for(url: str) -> _Proxy | None:
    """The proxy the environment names for `url`, as requests chose it (scheme, then
    `all`; NO_PROXY wins)."""
    if not any(os.environ.get(n) or os.environ.get(n.upper()) for n in _PROXY_VARS):
        return None
    from urllib.request import getproxies, proxy_bypass

    parts = urlsplit(url)
    proxies = getproxies()
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    if not proxy or _in_no_proxy_network(parts.hostname) or proxy_bypass(parts.netloc):
        return None
    if "://" not in proxy:
        proxy = "http://" + proxy
    where = urlsplit(proxy)
    if where.scheme != "http" or not where.hostname:
        raise ValueError(f"proxy {proxy!r}: staso speaks to proxies over http:// only")
    authorization = None
    if where.username is not None:
        import base64

        user = f"{unquote(where.username)}:{unquote(where.password or '')}"
        authorization = "Basic " + base64.b64encode(user.encode()).decode()
    return _Proxy(where.hostname, where.port or 80, authorization)


def _in_no_proxy_network(host: str | None) -> bool:
    """Whether an IP address `host` is in a network NO_PROXY names (`127.0.0.0/8`), as
    requests reads it; urllib's proxy_bypass matches names and suffixes only."""
    entries = os.environ.get("no_proxy") or os.environ.get("NO_PROXY") or ""
    if not host or "/" not in entries:
        return False
    import ipaddress

    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False  # a name: proxy_bypass's to match
    for entry in entries.replace(" ", "").split(","):
        if "/" not in entry:
            continue
        try:
            network = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            continue  # not a network: ignored, as requests ignores it
        if address.version == network.version and address in network:
            return True
    return False


class Transport:
    """POSTs to one endpoint; keeps its connection between requests."""

    def __init__(
        self,
        endpoint: str,
        headers: dict[str, str],
        timeout_s: float,
        tls: Tls | None = None,
    ) -> None:
        self.endpoint = endpoint
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {endpoint}")
        self.https = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.https else 80)
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.headers = {"User-Agent": USER_AGENT, **headers}
        self.timeout_s = timeout_s
        self.tls = tls or Tls()
        self.proxy: _Proxy | None = None
        self._proxy_read = False  # read at the first request: a bad proxy is its error
        self._context: ssl.SSLContext | None = None
        self._conn: http.client.HTTPConnection | None = None
        # the request written and not yet answered: (method, body, headers, on a kept conn)
        self._asked: tuple[str, bytes | None, dict[str, str], bool] | None = None

    def post(self, body: bytes, headers: dict[str, str]) -> Answer:
        """One request and its answer; raises TransportError when there is no answer."""
        self.begin(body, headers)
        return self.answer()

    def get(self) -> Answer:
        self._begin("GET", None, {})
        return self.answer()

    def begin(self, body: bytes, headers: dict[str, str]) -> None:
        """Write a POST; its answer is read by `answer()`, which must come before the next
        request (one request in flight). Between the two the caller works on while the
        server reads and answers: the worker reduces the next sessions meanwhile."""
        self._begin("POST", body, headers)

    def answered(self) -> bool:
        """Whether `answer()` would find the answer (or the connection's end) waiting."""
        return self._asked is None or self._conn is None or _readable(self._conn)

    def answer(self) -> Answer:
        """The answer to the request `begin` wrote; raises TransportError without one."""
        assert self._asked is not None, "answer() without a request in flight"
        method, body, headers, reused = self._asked
        self._asked = None
        try:
            try:
                return self._read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                if not reused:
                    raise
                self.close()  # the kept connection died under us: once more, fresh
                self._write(method, body, headers)
                return self._read()
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise TransportError(describe_error(exc, self.endpoint), exc) from exc

    def _begin(self, method: str, body: bytes | None, headers: dict[str, str]) -> None:
        assert self._asked is None, "a request is already in flight"
        all_headers = {**self.headers, **headers}
        if not self._proxy_read:
            try:
                self.proxy = proxy_for(self.endpoint)
            except ValueError as exc:
                raise TransportError(str(exc), exc) from exc
            self._proxy_read = True
        reused = self._conn is not None and not _readable(self._conn)
        if not reused:
            self.close()
        try:
            try:
                self._write(method, body, all_headers)
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                if not reused:
                    raise
                self.close()
                reused = False
                self._write(method, body, all_headers)
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise TransportError(describe_error(exc, self.endpoint), exc) from exc
        self._asked = (method, body, all_headers, reused)

    def _write(self, method: str, body: bytes | None, headers: dict[str, str]) -> None:
        conn = self._conn or self._connect()
        self._conn = conn
        target = self.path
        if self.proxy is not None and not self.https:
            target = f"http://{self.host}:{self.port}{self.path}"  # absolute-form
            if self.proxy.authorization:
                headers = {**headers, "Proxy-Authorization": self.proxy.authorization}
        conn.request(method, target, body=body, headers=headers)

    def _read(self) -> Answer:
        assert self._conn is not None
        response = self._conn.getresponse()
        answer = Answer(
            response.status,
            parse_retry_after(response.getheader("Retry-After")),
            response.getheader("Location"),
        )
        response.read(MAX_ANSWER_BYTES)
        if response.will_close or not response.isclosed():
            self.close()
        return answer

    def _connect(self) -> http.client.HTTPConnection:
        host, port = self.host, self.port
        if self.proxy is not None:
            host, port = self.proxy.host, self.proxy.port
        conn: http.client.HTTPConnection
        if self.https:
            if self._context is None:
                self._context = ssl_context(self.tls)
            conn = http.client.HTTPSConnection(
                host, port, timeout=self.timeout_s, context=self._context
            )
            if self.proxy is not None:
                tunnel = {"Proxy-Authorization": self.proxy.authorization}
                conn.set_tunnel(self.host, self.port, tunnel if self.proxy.authorization else None)
        else:
            conn = http.client.HTTPConnection(host, port, timeout=self.timeout_s)
        return conn

    def close(self) -> None:
        self._asked = None
        if self._conn is not None:
            with contextlib.suppress(OSError):
                self._conn.close()
            self._conn = None


def _readable(conn: http.client.HTTPConnection) -> bool:
    """Whether the connection has something to read (or is gone). With nothing asked that
    means the server closed it while idle (EOF or junk: it cannot carry the next request);
    with a request in flight, that its answer has come."""
    sock = conn.sock
    if sock is None:
        return True
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait, from delay-seconds or an HTTP-date (email.utils only for a date)."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        return max(parsedate_to_datetime(value).timestamp() - time.time(), 0.0)
    except (TypeError, ValueError):
        return None


def _find(
    exc: BaseException, kind: type[BaseException] | tuple[type[BaseException], ...]
) -> BaseException | None:
    """The first exception of `kind` in exc's chain."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, kind):
            return current
        todo.extend([current.__cause__, current.__context__, getattr(current, "cause", None)])
        todo.extend(a for a in current.args if isinstance(a, BaseException))
    return None


def is_tls_failure(exc: BaseException) -> bool:
    return _find(exc, ssl.SSLError) is not None


def describe_error(exc: BaseException, url: str) -> str:
    """One line a user can act on, naming the host: why a request got no answer."""
    host = urlsplit(url).hostname or url
    verify = _find(exc, ssl.SSLCertVerificationError)
    if verify is not None:
        why = getattr(verify, "verify_message", "") or ""
        return (
            f"certificate verify failed for {host}" + (f" ({why})" if why else "") + "; "
            "set OTEL_EXPORTER_OTLP_CERTIFICATE (or STASO_CERTIFICATE) to its CA bundle"
        )
    tls = _find(exc, ssl.SSLError)
    if tls is not None:
        return f"TLS handshake with {host} failed: {tls}"
    if _find(exc, TimeoutError) is not None:
        return f"no answer from {host} within the export timeout"
    if _find(exc, ConnectionRefusedError) is not None:
        return f"connection refused by {host}"
    if _find(exc, (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)):
        return f"{host} closed the connection without an answer"
    if isinstance(exc, (OSError, http.client.HTTPException)):
        return f"connection to {host} failed: {type(exc).__name__}: {exc}"
    return f"{type(exc).__name__}: {exc}"
