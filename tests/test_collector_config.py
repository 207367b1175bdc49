"""The shipped OpenTelemetry Collector configurations, checked against the documented schemas.

The real otelcol-contrib binary cannot be downloaded here (no GitHub releases), so this is
structural: every key of every component must be one its documented configuration accepts,
every component a pipeline names must be defined, and spans must reach a persistent
(disk-backed) queue with nothing buffering them in memory ahead of it.

The accepted key sets below are the `mapstructure` fields of each component's Config, read
from the sources (citing component and version):
- opentelemetry-collector v0.159.0 (stable modules v1.65.0):
  exporter/exporterhelper/README.md and internal/queuebatch/config.go (sending_queue, batch),
  config/configretry (retry_on_failure), config/confighttp/client.go (HTTP client),
  exporter/otlphttpexporter/config.go + metadata.yaml (type `otlp_http`, deprecated alias
  `otlphttp` since v0.148.0), exporter/debugexporter/config.go, receiver/otlpreceiver/config.go,
  internal/memorylimiter/config.go, processor/batchprocessor (in-memory).
- opentelemetry-collector-contrib: extension/storage/filestorage/config.go (create_directory,
  directory_permissions) and exporter/loadbalancingexporter (README v0.154.0: type
  `load_balancing`, deprecated alias `loadbalancing`; config.go: protocol, resolver, routing_key).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent

RETRY = {
    "enabled",
    "initial_interval",
    "max_interval",
    "max_elapsed_time",
    "multiplier",
    "randomization_factor",
}
QUEUE = {
    "enabled",
    "num_consumers",
    "wait_for_result",
    "block_on_overflow",
    "sizer",
    "queue_size",
    "storage",
    "batch",
}
QUEUE_BATCH = {"flush_timeout", "sizer", "min_size", "max_size", "partition"}
SIZERS = {"requests", "items", "bytes"}
HTTP_CLIENT = {
    "endpoint",
    "proxy_url",
    "tls",
    "read_buffer_size",
    "write_buffer_size",
    "timeout",
    "headers",
    "auth",
    "compression",
    "compression_params",
    "max_idle_conns",
    "max_idle_conns_per_host",
    "max_conns_per_host",
    "idle_conn_timeout",
    "disable_keep_alives",
    "http2_read_idle_timeout",
    "http2_ping_timeout",
    "cookies",
    "force_attempt_http2",
    "middlewares",
}
GRPC_CLIENT = {
    "endpoint",
    "compression",
    "tls",
    "keepalive",
    "read_buffer_size",
    "write_buffer_size",
    "wait_for_ready",
    "headers",
    "balancer_name",
    "authority",
    "auth",
    "middlewares",
}
EXPORTER_HELPER = {"timeout", "retry_on_failure", "sending_queue"}

# component type -> accepted top-level keys
EXPORTERS: dict[str, set[str]] = {
    "otlp_http": HTTP_CLIENT
    | EXPORTER_HELPER
    | {"traces_endpoint", "metrics_endpoint", "logs_endpoint", "profiles_endpoint", "encoding"},
    "otlp_grpc": GRPC_CLIENT | EXPORTER_HELPER,
    "debug": {
        "verbosity",
        "sampling_initial",
        "sampling_thereafter",
        "use_internal_logger",
        "output_paths",
        "sending_queue",
    },
    "load_balancing": EXPORTER_HELPER | {"protocol", "resolver", "routing_key"},
}
PROCESSORS: dict[str, set[str]] = {
    "memory_limiter": {
        "check_interval",
        "min_gc_interval_when_soft_limited",
        "min_gc_interval_when_hard_limited",
        "max_gc_interval_when_soft_limited",
        "max_gc_interval_when_hard_limited",
        "limit_mib",
        "spike_limit_mib",
        "limit_percentage",
        "spike_limit_percentage",
    },
}
RECEIVERS: dict[str, set[str]] = {"otlp": {"protocols"}}
EXTENSIONS: dict[str, set[str]] = {
    "file_storage": {
        "directory",
        "timeout",
        "compaction",
        "fsync",
        "create_directory",
        "directory_permissions",
    },
}
# renamed exporters: the old name still loads, but the docs say to migrate
DEPRECATED = {"otlphttp": "otlp_http", "otlp": "otlp_grpc", "loadbalancing": "load_balancing"}
# processors that hold spans in memory: ahead of a disk queue, a crash loses what they hold
IN_MEMORY = {"batch", "groupbytrace", "tail_sampling"}
ROUTING_KEYS = {"service", "traceID", "metric", "resource", "streamID", "attributes"}
RESOLVERS = {"static", "dns", "k8s", "aws_cloud_map"}


def component_type(name: str) -> str:
    return name.split("/", 1)[0]


def check_keys(where: str, section: dict[str, Any] | None, accepted: set[str]) -> list[str]:
    unknown = sorted(set(section or {}) - accepted)
    return [f"{where}: unknown keys {unknown}"] if unknown else []


def check_queue(where: str, queue: dict[str, Any]) -> list[str]:
    """exporterhelper's sending_queue, with the rules its Validate() enforces."""
    problems = check_keys(where, queue, QUEUE)
    sizer = queue.get("sizer", "requests")
    if sizer not in SIZERS:
        problems.append(f"{where}.sizer {sizer!r} is not one of {sorted(SIZERS)}")
    if queue.get("storage") and queue.get("wait_for_result"):
        problems.append(f"{where}: wait_for_result is not supported with storage")
    batch = queue.get("batch")
    if batch is not None:
        problems += check_keys(f"{where}.batch", batch, QUEUE_BATCH)
        # an unset batch sizer takes the queue's (when that is set), else items
        batch_sizer = batch.get("sizer", sizer if "sizer" in queue else "items")
        if batch_sizer not in {"items", "bytes"}:
            problems.append(f"{where}.batch.sizer must be items or bytes, is {batch_sizer!r}")
        if batch_sizer == sizer and batch.get("min_size", 8192) > queue.get("queue_size", 1000):
            problems.append(f"{where}.batch.min_size exceeds queue_size")
        if "max_size" in batch and 0 < batch["max_size"] < batch.get("min_size", 8192):
            problems.append(f"{where}.batch.max_size is below min_size")
    return problems


def check_exporter(name: str, config: dict[str, Any] | None) -> list[str]:
    kind = component_type(name)
    config = config or {}
    problems = check_keys(f"exporters.{name}", config, EXPORTERS[kind])
    if "retry_on_failure" in config:
        problems += check_keys(f"{name}.retry_on_failure", config["retry_on_failure"], RETRY)
    if "sending_queue" in config:
        problems += check_queue(f"{name}.sending_queue", config["sending_queue"])
    if kind == "load_balancing":
        if config.get("routing_key", "traceID") not in ROUTING_KEYS:
            problems.append(f"{name}.routing_key {config['routing_key']!r} is not documented")
        problems += check_keys(f"{name}.protocol", config.get("protocol"), {"otlp"})
        otlp = (config.get("protocol") or {}).get("otlp") or {}
        problems += check_keys(f"{name}.protocol.otlp", otlp, GRPC_CLIENT | EXPORTER_HELPER)
        resolver = config.get("resolver") or {}
        problems += check_keys(f"{name}.resolver", resolver, RESOLVERS)
        if len(resolver) != 1:
            problems.append(f"{name}.resolver needs exactly one resolver")
        if "static" in resolver:
            problems += check_keys(f"{name}.resolver.static", resolver["static"], {"hostnames"})
    return problems


def check_config(config: dict[str, Any]) -> list[str]:
    problems = []
    for section, schemas in (
        ("exporters", EXPORTERS),
        ("processors", PROCESSORS),
        ("receivers", RECEIVERS),
        ("extensions", EXTENSIONS),
    ):
        for name, body in (config.get(section) or {}).items():
            kind = component_type(name)
            if section == "exporters" and kind in DEPRECATED:
                problems.append(f"{section}.{name}: deprecated name, use {DEPRECATED[kind]}")
            elif kind not in schemas:
                problems.append(f"{section}.{name}: no documented schema encoded here")
            elif section == "exporters":
                problems += check_exporter(name, body)
            else:
                problems += check_keys(f"{section}.{name}", body, schemas[kind])
    for name, body in (config.get("receivers") or {}).items():
        if component_type(name) == "otlp":
            protocols = (body or {}).get("protocols") or {}
            problems += check_keys(f"{name}.protocols", protocols, {"grpc", "http"})
    service = config.get("service") or {}
    for ext in service.get("extensions") or []:
        if ext not in (config.get("extensions") or {}):
            problems.append(f"service.extensions names undefined {ext}")
    for pipeline_name, pipeline in (service.get("pipelines") or {}).items():
        for section in ("receivers", "processors", "exporters"):
            for name in pipeline.get(section) or []:
                if name not in (config.get(section) or {}):
                    kind = section[:-1]
                    problems.append(f"pipeline {pipeline_name} names undefined {kind} {name}")
    return problems


def storage_extension(config: dict[str, Any], exporter: str) -> str | None:
    queue = (config["exporters"][exporter] or {}).get("sending_queue") or {}
    return queue.get("storage") if queue.get("enabled", True) else None


def check_durable(config: dict[str, Any]) -> list[str]:
    """Every pipeline's network exporters queue on disk, with nothing in memory ahead of it."""
    problems = []
    extensions = config.get("extensions") or {}
    for pipeline_name, pipeline in config["service"]["pipelines"].items():
        for name in pipeline.get("processors") or []:
            if component_type(name) in IN_MEMORY:
                problems.append(f"pipeline {pipeline_name}: in-memory {name} ahead of the queue")
        for name in pipeline["exporters"]:
            if component_type(name) == "debug":
                continue
            storage = storage_extension(config, name)
            if not storage:
                problems.append(f"{name}: its sending_queue is not persistent (no storage)")
                continue
            if storage not in (config["service"].get("extensions") or []):
                problems.append(f"{name}: storage {storage} is not a started extension")
            store = extensions.get(storage) or {}
            if component_type(storage) == "file_storage" and not store.get("create_directory"):
                problems.append(f"{storage}: without create_directory the Collector won't start")
        if not any(component_type(p) == "memory_limiter" for p in pipeline.get("processors", [])):
            problems.append(f"pipeline {pipeline_name}: no memory_limiter")
    return problems


def docs_configs() -> list[dict[str, Any]]:
    text = (ROOT / "docs" / "collector.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", text, re.S)
    return [yaml.safe_load(b) for b in blocks if "service:" in b]


def shipped_config() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "otel-collector.yaml").read_text())


def test_the_shipped_config_uses_only_documented_keys_and_defined_components():
    assert check_config(shipped_config()) == []


def test_the_shipped_config_queues_on_disk_with_nothing_in_memory_ahead():
    config = shipped_config()
    assert check_durable(config) == []
    staso = config["exporters"]["otlp_http/staso"]
    assert staso["headers"]["X-API-Key"] == "${env:STASO_API_KEY}"
    assert staso["sending_queue"]["batch"]  # batching happens in the queue, after the disk
    assert staso["retry_on_failure"]["max_elapsed_time"] == 0  # the disk queue never gives up


@pytest.mark.parametrize("index", range(2))
def test_the_gateway_configs_in_the_docs_are_valid_and_durable(index):
    configs = docs_configs()
    assert len(configs) == 2  # the per-machine agent and the gateway
    config = configs[index]
    assert check_config(config) == []
    assert check_durable(config) == []


def test_the_agent_balances_by_trace_id():
    agent = next(c for c in docs_configs() if "load_balancing" in str(c["exporters"]))
    [(name, lb)] = [(n, e) for n, e in agent["exporters"].items() if n.startswith("load_bal")]
    assert lb["routing_key"] == "traceID"
    assert len(lb["resolver"]["static"]["hostnames"]) >= 2
    assert name in agent["service"]["pipelines"]["traces"]["exporters"]


@pytest.mark.parametrize(
    "change, problem",
    [
        (lambda c: c["exporters"]["otlp_http/staso"].update(sending_queue_x=1), "unknown keys"),
        (lambda c: c["service"]["pipelines"]["traces"]["processors"].append("batch"), "undefined"),
        (lambda c: c["exporters"]["otlp_http/staso"]["sending_queue"].pop("storage"), "persist"),
        (lambda c: c["extensions"]["file_storage"].pop("create_directory"), "create_directory"),
        (
            lambda c: c["exporters"]["otlp_http/staso"]["sending_queue"]["batch"].pop("sizer"),
            "batch.sizer must be items or bytes",
        ),
    ],
    ids=["unknown-key", "undefined-batch", "memory-queue", "no-create-directory", "batch-sizer"],
)
def test_the_checker_catches_a_broken_config(change, problem):
    config = shipped_config()
    change(config)
    assert any(problem in p for p in check_config(config) + check_durable(config))
