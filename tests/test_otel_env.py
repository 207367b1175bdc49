"""Every OTEL_* variable of the SDK environment spec that applies to a trace exporter means
on the hook/worker path what it means in the SDK (issue 17), each checked against a real
receiver: recorded Codex sessions go through the real hook record path and the real export
worker, in an environment that names the variable. No profile is set up here, so the
OTEL_* endpoint (the receiver) is in effect, as it is for an SDK."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from opentelemetry.sdk.trace.sampling import TraceIdRatioBased
from otlp_receiver import Receiver

from staso_otel import paths, status
from staso_otel import settings as settings_mod
from staso_otel.export.spool import Spool
from staso_otel.local import replay
from staso_otel.pipeline import worker
from staso_otel.span.model import SpanData, SpanEvent

FIX = Path(__file__).parent / "fixtures" / "codex"
SESSIONS = ("hello", "tour_resume", "parallel", "misc", "mcp", "stop_block", "compact")


def record(tmp_path: Path, monkeypatch, names: tuple[str, ...] = ("tour_resume",)) -> None:
    monkeypatch.setenv("STASO_NO_WORKER", "1")
    for name in names:
        replay.replay(FIX / name, tmp_path / "scratch" / name)


def export(monkeypatch, rec: Receiver | None, **env: str) -> worker.DrainReport:
    """The worker's own settings resolution (no settings passed in), from this env."""
    if rec is not None:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", rec.base_url)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return worker.drain()


def status_text() -> str:
    report = status.gather(target="codex")
    return "\n".join(f"{k} {v}" for k, v in report["lines"]) + "\n" + "\n".join(report["problems"])


def log_text() -> str:
    return "".join(p.read_text() for p in sorted(paths.logs_dir().glob("*")) if p.is_file())


def reference(tmp_path: Path, monkeypatch, names=("tour_resume",)) -> list[dict]:
    """What the same sessions give with no OTEL_* variable but the endpoint: the baseline."""
    rec = Receiver().start()
    try:
        home = tmp_path / "reference-home"
        monkeypatch.setenv("STASO_HOME", str(home))
        record(tmp_path, monkeypatch, names)  # the same scratch paths: the same attributes
        report = export(monkeypatch, rec)
        assert report.spans_left == 0 and rec.spans
        return list(rec.spans)
    finally:
        rec.stop()
        monkeypatch.setenv("STASO_HOME", str(tmp_path / "staso-home"))
        monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT")


# -- OTEL_SDK_DISABLED, OTEL_TRACES_EXPORTER ---------------------------------------------------
@pytest.mark.parametrize(
    "env",
    [{"OTEL_SDK_DISABLED": "true"}, {"OTEL_TRACES_EXPORTER": "none"}],
    ids=["sdk-disabled", "exporter-none"],
)
def test_disabled_or_no_exporter_sends_nothing_and_says_so(receiver, tmp_path, monkeypatch, env):
    record(tmp_path, monkeypatch)
    report = export(monkeypatch, receiver, **env)
    assert report.records > 0  # the hooks' records were read ...
    assert receiver.requests == [] and report.spans_left == 0  # ... and nothing is exported
    ((var, value),) = env.items()
    assert f"{var}={value}" in status_text()


def test_sdk_disabled_false_still_exports(receiver, tmp_path, monkeypatch):
    record(tmp_path, monkeypatch)
    export(monkeypatch, receiver, OTEL_SDK_DISABLED="false")
    assert receiver.spans


def test_console_exporter_writes_each_span_as_json_to_the_log_folder(
    receiver, tmp_path, monkeypatch
):
    expected = reference(tmp_path, monkeypatch)
    record(tmp_path, monkeypatch)
    export(monkeypatch, receiver, OTEL_TRACES_EXPORTER="console")
    assert receiver.requests == []
    lines = (paths.logs_dir() / "console-spans.jsonl").read_text().splitlines()
    spans = [json.loads(line) for line in lines]
    assert sorted(s["name"] for s in spans) == sorted(s["name"] for s in expected)
    assert "console-spans.jsonl" in status_text()


def test_otlp_and_console_together(receiver, tmp_path, monkeypatch):
    record(tmp_path, monkeypatch)
    export(monkeypatch, receiver, OTEL_TRACES_EXPORTER="otlp,console")
    assert receiver.spans
    lines = (paths.logs_dir() / "console-spans.jsonl").read_text().splitlines()
    assert len(lines) == len(receiver.spans)


def test_an_exporter_staso_lacks_keeps_the_spans_and_says_so(receiver, tmp_path, monkeypatch):
    record(tmp_path, monkeypatch)
    report = export(monkeypatch, receiver, OTEL_TRACES_EXPORTER="zipkin")
    assert receiver.requests == [] and report.spans_left > 0  # kept, not lost
    assert any("zipkin" in e for e in report.errors)
    assert "zipkin" in status_text() and "zipkin" in log_text()


# -- OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG ----------------------------------------------
@pytest.mark.parametrize("sampler", ["always_off", "parentbased_always_off"])
def test_always_off_samplers_send_nothing(receiver, tmp_path, monkeypatch, sampler):
    record(tmp_path, monkeypatch)
    report = export(monkeypatch, receiver, OTEL_TRACES_SAMPLER=sampler)
    assert receiver.requests == [] and report.records > 0 and report.spans_left == 0


@pytest.mark.parametrize("sampler", ["traceidratio", "parentbased_traceidratio"])
def test_ratio_sampling_keeps_or_drops_whole_traces_by_trace_id(
    receiver, tmp_path, monkeypatch, sampler
):
    every = reference(tmp_path, monkeypatch, SESSIONS)
    by_trace: dict[str, int] = {}
    for span in every:
        by_trace[span["trace_id"]] = by_trace.get(span["trace_id"], 0) + 1
    ratio = TraceIdRatioBased(0.5)
    chosen = {
        t for t in by_trace if ratio.should_sample(None, int(t, 16), "x").decision.is_sampled()
    }
    assert 0 < len(chosen) < len(by_trace)  # the recordings give a real mix
    record(tmp_path, monkeypatch, SESSIONS)
    export(monkeypatch, receiver, OTEL_TRACES_SAMPLER=sampler, OTEL_TRACES_SAMPLER_ARG="0.5")
    got: dict[str, int] = {}
    for span in receiver.spans:
        got[span["trace_id"]] = got.get(span["trace_id"], 0) + 1
    assert set(got) == chosen  # the SDK's own decision on each trace id
    assert all(got[t] == by_trace[t] for t in got)  # and every span of a kept trace


def test_a_sampler_staso_lacks_falls_back_to_the_sdk_default_and_says_so(
    receiver, tmp_path, monkeypatch
):
    record(tmp_path, monkeypatch)
    export(monkeypatch, receiver, OTEL_TRACES_SAMPLER="jaeger_remote")
    assert receiver.spans  # parentbased_always_on, as the SDK falls back
    assert "OTEL_TRACES_SAMPLER=jaeger_remote" in status_text()


# -- span limits ---------------------------------------------------------------------------
def test_attribute_count_limit(receiver, tmp_path, monkeypatch):
    record(tmp_path, monkeypatch)
    export(monkeypatch, receiver, OTEL_ATTRIBUTE_COUNT_LIMIT="4")
    assert receiver.spans and all(len(s["attributes"]) <= 4 for s in receiver.spans)


def test_span_attribute_value_length_limit_beats_the_general_one(receiver, tmp_path, monkeypatch):
    record(tmp_path, monkeypatch)
    export(
        monkeypatch,
        receiver,
        OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT="50",
        OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT="12",
        OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT="1000",
    )
    values = [v for s in receiver.spans for v in s["attributes"].values() if isinstance(v, str)]
    assert values and max(len(v) for v in values) == 12


def test_event_limits(receiver, monkeypatch):
    """Hook spans carry no events; the library's durable mode spools spans that do, and
    the same worker exports them."""
    events = tuple(SpanEvent(f"e{i}", 10**18 + i, {"a": 1, "b": "x"}) for i in range(3))
    span = SpanData(7, 9, None, "with events", "INTERNAL", 10**18, 10**18 + 5, events=events)
    Spool().write("api.agent.events", [span, replace(span, span_id=10)])
    export(monkeypatch, receiver)
    assert [len(s["events"]) for s in receiver.spans] == [3, 3]  # without limits: all
    receiver.spans.clear()
    Spool().write("api.agent.events", [span])
    export(
        monkeypatch, receiver, OTEL_SPAN_EVENT_COUNT_LIMIT="1", OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT="1"
    )
    (got,) = receiver.spans
    assert len(got["events"]) == 1 and len(got["events"][0]["attributes"]) == 1


# -- OTEL_EXPORTER_OTLP_PROTOCOL ---------------------------------------------------------------
@pytest.mark.parametrize(
    "var", ["OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"]
)
def test_http_json_is_otlp_json_a_receiver_decodes(receiver, tmp_path, monkeypatch, var):
    expected = reference(tmp_path, monkeypatch)
    record(tmp_path, monkeypatch)
    report = export(monkeypatch, receiver, **{var: "http/json"})
    assert report.spans_left == 0
    assert {r["headers"].get("Content-Type") for r in receiver.requests} == {"application/json"}

    def key(s: dict) -> tuple:
        return (s["trace_id"], s["span_id"])

    got = sorted(receiver.spans, key=key)
    want = sorted(expected, key=key)
    assert [(s["span_id"], s["parent_span_id"], s["name"], s["kind"]) for s in got] == [
        (s["span_id"], s["parent_span_id"], s["name"], s["kind"]) for s in want
    ]
    assert [s["attributes"] for s in got] == [s["attributes"] for s in want]
    assert got[0]["resource"] == want[0]["resource"]


def test_grpc_is_not_spoken_spans_wait_and_status_and_log_say_so(receiver, tmp_path, monkeypatch):
    record(tmp_path, monkeypatch)
    report = export(monkeypatch, receiver, OTEL_EXPORTER_OTLP_PROTOCOL="grpc")
    assert receiver.requests == [] and report.spans_left > 0
    assert "grpc" in status_text() and "grpc" in log_text()


# -- OTEL_EXPORTER_OTLP_TIMEOUT ----------------------------------------------------------------
def test_timeout_is_in_milliseconds():
    s = settings_mod.load(
        env={"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_EXPORTER_OTLP_TIMEOUT": "2000"}
    )
    assert s.export_timeout == 2.0
    both = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318",
        "OTEL_EXPORTER_OTLP_TIMEOUT": "2000",
        "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT": "250",
    }
    assert settings_mod.load(env=both).export_timeout == 0.25


def test_a_hanging_receiver_is_given_up_on_after_the_milliseconds_asked(tmp_path, monkeypatch):
    """A worker asked for 300 ms must not wait 300 s: the drain runs in a process that is
    bounded to 60 s, and must finish with the spans kept for a retry."""
    rec = Receiver(mode="hang", hang_s=120).start()
    try:
        record(tmp_path, monkeypatch)
        code = (
            "from staso_otel.pipeline import worker; r = worker.drain(); "
            "print(r.spans_left, r.spans_sent)"
        )
        env = {
            **dict(__import__("os").environ),
            "OTEL_EXPORTER_OTLP_ENDPOINT": rec.base_url,
            "OTEL_EXPORTER_OTLP_TIMEOUT": "300",
        }
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
        )
        left, sent = map(int, out.stdout.split())
        assert left > 0 and sent == 0
    finally:
        rec.stop()


# -- OTEL_RESOURCE_ATTRIBUTES, OTEL_SERVICE_NAME -----------------------------------------------
def test_user_resource_attributes_win_and_staso_adds_what_is_missing(
    receiver, tmp_path, monkeypatch
):
    record(tmp_path, monkeypatch)
    export(
        monkeypatch,
        receiver,
        OTEL_RESOURCE_ATTRIBUTES="service.name=my-svc,deployment.environment.name=prod,team=ml",
    )
    resource = receiver.spans[0]["resource"]
    assert resource["service.name"] == "my-svc"
    assert resource["deployment.environment.name"] == "prod"
    assert resource["team"] == "ml"
    assert resource["staso.workspace"] == "default" and "service.version" in resource


def test_otel_service_name_beats_service_name_in_resource_attributes(
    receiver, tmp_path, monkeypatch
):
    record(tmp_path, monkeypatch)
    export(
        monkeypatch,
        receiver,
        OTEL_RESOURCE_ATTRIBUTES="service.name=from-attrs",
        OTEL_SERVICE_NAME="from-service-name",
    )
    assert receiver.spans[0]["resource"]["service.name"] == "from-service-name"


# -- OTEL_EXPORTER_OTLP_ENDPOINT / _TRACES_ENDPOINT --------------------------------------------
def test_a_base_endpoint_gets_the_signal_path_appended_as_the_spec_says(
    receiver, tmp_path, monkeypatch
):
    record(tmp_path, monkeypatch)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)  # ends in /v1/traces
    worker.drain()
    assert {r["path"] for r in receiver.requests} == {"/v1/traces/v1/traces"}
    assert "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" in status_text()  # what to use instead


def test_a_traces_endpoint_is_used_as_given(receiver, tmp_path, monkeypatch):
    record(tmp_path, monkeypatch)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", receiver.endpoint)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
    worker.drain()
    assert receiver.spans and {r["path"] for r in receiver.requests} == {"/v1/traces"}


# -- OTEL_EXPORTER_OTLP_HEADERS ----------------------------------------------------------------
def test_traces_headers_replace_the_general_ones(receiver, tmp_path, monkeypatch):
    record(tmp_path, monkeypatch)
    export(
        monkeypatch,
        receiver,
        OTEL_EXPORTER_OTLP_HEADERS="x-general=1",
        OTEL_EXPORTER_OTLP_TRACES_HEADERS="x-traces=2",
    )
    headers = [{k.lower(): v for k, v in r["headers"].items()} for r in receiver.requests]
    assert headers and all(h["x-traces"] == "2" and "x-general" not in h for h in headers)


# -- OTEL_EXPORTER_OTLP_COMPRESSION ------------------------------------------------------------
@pytest.mark.parametrize("protocol", ["http/protobuf", "http/json"])
@pytest.mark.parametrize(
    "var", ["OTEL_EXPORTER_OTLP_COMPRESSION", "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION"]
)
def test_gzip_compression(receiver, tmp_path, monkeypatch, protocol, var):
    record(tmp_path, monkeypatch)
    report = export(monkeypatch, receiver, OTEL_EXPORTER_OTLP_PROTOCOL=protocol, **{var: "gzip"})
    assert report.spans_left == 0 and receiver.spans
    assert {r["headers"].get("Content-Encoding") for r in receiver.requests} == {"gzip"}


# -- OTEL_EXPORTER_OTLP_CERTIFICATE, _CLIENT_KEY, _CLIENT_CERTIFICATE --------------------------
def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


@pytest.fixture
def pki(tmp_path: Path) -> dict[str, str]:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, all made here."""
    d = tmp_path / "pki"
    d.mkdir()
    f = {n: str(d / n) for n in ("ca.key", "ca.pem", "srv.key", "srv.csr", "srv.pem", "ext")}
    f.update({n: str(d / n) for n in ("cli.key", "cli.csr", "cli.pem")})
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        f["ca.key"],
        "-out",
        f["ca.pem"],
        "-days",
        "2",
        "-subj",
        "/CN=staso test CA",
    )
    Path(f["ext"]).write_text("subjectAltName=IP:127.0.0.1\n")
    for who in ("srv", "cli"):
        _openssl(
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            f[f"{who}.key"],
            "-out",
            f[f"{who}.csr"],
            "-subj",
            f"/CN={who}",
        )
        _openssl(
            "x509",
            "-req",
            "-in",
            f[f"{who}.csr"],
            "-CA",
            f["ca.pem"],
            "-CAkey",
            f["ca.key"],
            "-CAcreateserial",
            "-out",
            f[f"{who}.pem"],
            "-days",
            "2",
            "-extfile",
            f["ext"],
        )
    return f


@pytest.fixture
def tls_receiver(pki, tmp_path, monkeypatch):
    """A recorded session and an HTTPS receiver named by OTEL_EXPORTER_OTLP_ENDPOINT."""
    started: list[Receiver] = []

    def start(client_ca: str | None = None) -> Receiver:
        rec = Receiver(tls=(pki["srv.pem"], pki["srv.key"]), client_ca=client_ca).start()
        started.append(rec)
        record(tmp_path, monkeypatch)
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", rec.base_url)
        monkeypatch.setenv("STASO_EXPORT_TIMEOUT", "3")
        return rec

    yield start
    for rec in started:
        rec.stop()


def delivered(rec: Receiver) -> bool:
    report = worker.drain()
    assert (report.spans_left == 0) == bool(rec.spans)  # refused spans are kept
    return bool(rec.spans)


def test_certificate_lets_the_exporter_trust_a_private_ca(tls_receiver, pki, monkeypatch):
    rec = tls_receiver()
    assert not delivered(rec)  # a CA the system does not know
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", pki["ca.pem"])
    assert delivered(rec)


def test_client_key_and_certificate_for_mutual_tls(tls_receiver, pki, monkeypatch):
    rec = tls_receiver(client_ca=pki["ca.pem"])
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_CERTIFICATE", pki["ca.pem"])
    assert not delivered(rec)  # no client certificate
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_CLIENT_KEY", pki["cli.key"])
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", pki["cli.pem"])
    assert delivered(rec)


# -- variables without effect on the hook path -------------------------------------------------
def test_variables_without_effect_here_change_nothing(receiver, tmp_path, monkeypatch):
    expected = reference(tmp_path, monkeypatch)
    record(tmp_path, monkeypatch)
    report = export(
        monkeypatch,
        receiver,
        OTEL_SPAN_LINK_COUNT_LIMIT="0",
        OTEL_LINK_ATTRIBUTE_COUNT_LIMIT="0",
        OTEL_EXPORTER_OTLP_INSECURE="true",
        OTEL_EXPORTER_OTLP_TRACES_INSECURE="true",
        OTEL_BSP_MAX_EXPORT_BATCH_SIZE="1",
        OTEL_BSP_SCHEDULE_DELAY="60000",
        OTEL_BSP_EXPORT_TIMEOUT="1",
        OTEL_BSP_MAX_QUEUE_SIZE="1",
        OTEL_PROPAGATORS="none",
    )
    assert report.spans_left == 0
    assert sorted(s["span_id"] for s in receiver.spans) == sorted(s["span_id"] for s in expected)


def test_every_row_of_the_otel_table_names_tests_that_exist():
    here = Path(__file__).parent
    for _, _, tests in settings_mod.OTEL_VARS:
        for name in (t.strip() for t in tests.split(",")):
            module, _, func = name.rpartition("::")
            text = (here / (module or "test_otel_env.py")).read_text()
            assert f"def {func}(" in text, name


def test_resource_attributes_outrank_the_profile_but_not_a_staso_variable(
    receiver, tmp_path, monkeypatch
):
    settings_mod.save_profile("default", {"environment": "from-profile"})
    monkeypatch.setenv("STASO_USE_OTEL_ENDPOINT", "true")  # the profile names no endpoint
    record(tmp_path, monkeypatch)
    attrs = "deployment.environment.name=from-attrs,staso.workspace=from-attrs"
    export(monkeypatch, receiver, OTEL_RESOURCE_ATTRIBUTES=attrs, STASO_WORKSPACE="from-env")
    resource = receiver.spans[0]["resource"]
    assert resource["deployment.environment.name"] == "from-attrs"  # OTEL_* > profile
    assert resource["staso.workspace"] == "from-env"  # STASO_* > OTEL_*


def test_console_shows_a_span_once_though_the_otlp_export_was_retried(tmp_path, monkeypatch):
    rec = Receiver(mode=lambda n: 503 if n == 0 else 200).start()
    try:
        record(tmp_path, monkeypatch)
        first = export(monkeypatch, rec, OTEL_TRACES_EXPORTER="otlp,console")
        assert first.spans_left > 0  # the 503
        export(monkeypatch, rec)
        lines = paths.console_spans_file().read_text().splitlines()
        assert rec.spans and len(lines) == len(rec.spans)
    finally:
        rec.stop()
