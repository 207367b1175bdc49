"""HTTPS_PROXY / HTTP_PROXY / ALL_PROXY / NO_PROXY are honoured by the worker's sender, as
they were when it sent through requests: a CONNECT tunnel for https, an absolute-form
request for http, credentials in the proxy URL as Proxy-Authorization, NO_PROXY wins.
Real sessions through the record path, a real receiver and a real proxy on 127.0.0.1."""

from __future__ import annotations

import base64
import json
import socket

import pytest
from click.testing import CliRunner
from http_proxy import Proxy
from otlp_receiver import Receiver
from pipeline_helpers import record_fixture
from staso_cli.main import cli

from staso_otel import settings
from staso_otel.pipeline import worker

TOUR_SPANS = 16
PROXY_VARS = ["HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY"]


def _no_proxy_env(monkeypatch) -> None:
    """None of the proxy variables set, in either case, whatever the machine has."""
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture
def proxy(monkeypatch):
    _no_proxy_env(monkeypatch)
    running = Proxy().start()
    yield running
    running.stop()


def _send(isolated_homes, rec: Receiver) -> worker.DrainReport:
    """A session recorded and drained to `rec` (stopped after)."""
    try:
        record_fixture("tour_resume", isolated_homes["codex"])
        return worker.drain(settings=settings.load(overrides={"endpoint": rec.endpoint}))
    finally:
        rec.stop()


def _delivered(isolated_homes, rec: Receiver) -> None:
    report = _send(isolated_homes, rec)
    assert report.spans_left == 0, report.errors
    assert len(rec.spans) == TOUR_SPANS


def test_http_goes_through_http_proxy_in_absolute_form(isolated_homes, proxy, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", proxy.url.replace("http://", "http://user:p%40ss@"))
    rec = Receiver().start()
    _delivered(isolated_homes, rec)
    assert proxy.seen, "nothing went through the proxy"
    credentials = "Basic " + base64.b64encode(b"user:p@ss").decode()
    assert {line for line, _ in proxy.seen} == {f"POST {rec.endpoint} HTTP/1.1"}
    assert {auth for _, auth in proxy.seen} == {credentials}


@pytest.mark.parametrize("variable", ["HTTPS_PROXY", "ALL_PROXY"])
def test_https_goes_through_a_connect_tunnel(isolated_homes, proxy, monkeypatch, certs, variable):
    monkeypatch.setenv(variable, proxy.url.replace("http://", "http://user:pw@"))
    monkeypatch.setenv("STASO_CERTIFICATE", str(certs["cert"]))
    rec = Receiver(tls=(str(certs["cert"]), str(certs["key"]))).start()
    _delivered(isolated_homes, rec)
    port = rec.endpoint.split(":")[2].split("/")[0]
    assert [line.split()[:2] for line, _ in proxy.seen] == [["CONNECT", f"127.0.0.1:{port}"]]
    assert {auth for _, auth in proxy.seen} == {"Basic " + base64.b64encode(b"user:pw").decode()}


def test_no_proxy_wins(isolated_homes, proxy, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
    rec = Receiver().start()
    _delivered(isolated_homes, rec)
    assert proxy.seen == []


@pytest.mark.parametrize(
    ("no_proxy", "direct"),
    [
        ("127.0.0.0/8", True),  # a network, as requests reads NO_PROXY: the common loopback entry
        ("localhost, 10.0.0.0/8, 127.0.0.1/32", True),
        (".corp.example,::1/128,127.0.0.0/30", True),
        ("10.0.0.0/8,192.168.0.0/16", False),  # networks that do not hold the endpoint
        ("127.0.0.0/not-a-mask", False),  # not a network: no bypass, and no error
    ],
)
def test_no_proxy_networks_are_honoured(isolated_homes, proxy, monkeypatch, no_proxy, direct):
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", no_proxy)
    rec = Receiver().start()
    _delivered(isolated_homes, rec)
    assert (proxy.seen == []) is direct, proxy.seen


def test_a_proxy_that_is_down_keeps_the_spans_and_says_so(isolated_homes, proxy, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    proxy.stop()
    rec = Receiver().start()
    report = _send(isolated_homes, rec)
    assert report.spans_left == TOUR_SPANS and not rec.spans
    assert any("connection refused by 127.0.0.1" in e for e in report.errors), report.errors


@pytest.fixture
def behind_proxy(monkeypatch):
    """An endpoint only the proxy reaches: a port on 127.0.0.1 where nothing listens (a
    socket bound, never listening: a direct connection is refused), which the proxy routes
    to a live receiver."""
    _no_proxy_env(monkeypatch)
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    rec = Receiver().start()
    target = rec.endpoint.split("//")[1].split("/")[0].split(":")
    running = Proxy(routes={("127.0.0.1", port): (target[0], int(target[1]))}).start()
    monkeypatch.setenv("HTTP_PROXY", running.url)
    endpoint = f"http://127.0.0.1:{port}/v1/traces"
    monkeypatch.setenv("STASO_ENDPOINT", endpoint)
    yield endpoint, rec, running
    running.stop()
    rec.stop()
    closed.close()


def test_an_endpoint_only_the_proxy_reaches_is_reachable(isolated_homes, behind_proxy):
    """`staso status`, `staso flush` and `staso import` ask whether the endpoint can be
    reached before they work: through the proxy the sender would use, not around it."""
    endpoint, rec, proxy = behind_proxy
    status = CliRunner().invoke(cli, ["status", "--json"], catch_exceptions=False)
    assert json.loads(status.stdout)["endpoint"]["unreachable_because"] is None, status.stdout
    record_fixture("tour_resume", isolated_homes["codex"])
    flushed = CliRunner().invoke(cli, ["flush"], catch_exceptions=False)
    assert flushed.exit_code == 0, flushed.output
    assert len(rec.spans) == TOUR_SPANS
    assert {line for line, _ in proxy.seen} >= {f"POST {endpoint} HTTP/1.1"}
    imported = CliRunner().invoke(cli, ["import", "--json"], catch_exceptions=False)
    assert imported.exit_code == 0, imported.output  # the same turns, already exported
    assert json.loads(imported.stdout)["already"] == 2


def test_a_proxy_that_is_down_is_what_status_and_flush_report(isolated_homes, behind_proxy):
    _, rec, proxy = behind_proxy
    proxy.stop()
    status = CliRunner().invoke(cli, ["status", "--json"], catch_exceptions=False)
    why = json.loads(status.stdout)["endpoint"]["unreachable_because"]
    assert why is not None and f"proxy 127.0.0.1:{proxy.port}" in why, why
    record_fixture("tour_resume", isolated_homes["codex"])
    flushed = CliRunner().invoke(cli, ["flush"], catch_exceptions=False)
    assert flushed.exit_code != 0 and not rec.spans
    assert f"through the proxy 127.0.0.1:{proxy.port}" in flushed.output, flushed.output
