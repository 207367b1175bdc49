"""Every setting as one row of a table, and the one resolver that knows defaults. [stdlib]

Precedence (SPEC.md): flag > STASO_* env > OTEL_* env > profile > default. An empty
environment variable counts as unset. A bad value raises `SettingsError` naming the
setting, so the CLI can print one line and exit 1.

The one exception, and the binding of credentials (SPEC.md; docs/settings.md says it for
users): an agent's hooks inherit the user's shell, where OTEL_* variables are often kept
for some other application. So the endpoint a profile stores (`staso setup` always
stores one) outranks the OTEL_* endpoint unless `use_otel_endpoint` opts in. And every
credential is bound to the origin it was given for: the Staso key and staso's own headers
go only to the endpoint of the layer they came from (else the profile's, else Staso's);
OTEL_EXPORTER_OTLP_* transport variables (headers, timeout, ...) describe the OTEL
destination and apply only when spans go to that origin.

Profiles live in `STASO_HOME/settings.json` ({"default_profile": ..., "profiles": {name:
{setting: value}}}); API keys live apart in `credentials.json` (0600), so a settings file
can be shown or shared without leaking a secret.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from staso_otel import paths

STASO_ENDPOINT = "https://api.staso.ai/v1/traces"
# Where an SDK sends OTLP/HTTP when no OTEL_* endpoint is set: the OTEL_* transport
# variables are meant for this destination then.
OTEL_DEFAULT_ENDPOINT = "http://localhost:4318/v1/traces"
OTEL_ENDPOINT_VARS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
TRACES_PATH = "/v1/traces"
API_KEY_HEADER = "X-API-Key"
DEFAULT_PROFILE = "default"


class SettingsError(ValueError):
    """A setting is missing or malformed; the message is one line a user can act on."""


def _parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def _parse_int(value: Any) -> int:
    number = int(value)
    if number < 0:
        raise ValueError(f"expected a number >= 0, got {value!r}")
    return number


def _parse_float(value: Any) -> float:
    number = float(value)
    if number <= 0:
        raise ValueError(f"expected a number > 0, got {value!r}")
    return number


def _parse_str(value: Any) -> str:
    return str(value)


def normalize_endpoint(value: str, *, append_path: bool = True) -> str:
    """Turn a base URL or a full `/v1/traces` URL into the URL spans are POSTed to.

    `append_path=False` is the OTEL_EXPORTER_OTLP_TRACES_ENDPOINT rule: used as given.
    """
    text = str(value).strip()
    parts = urlsplit(text)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError(
            f"{text!r} is not an http(s) URL; give a base URL such as http://localhost:4318 "
            "or a full URL ending /v1/traces"
        )
    try:
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as exc:
        raise ValueError(f"{text!r} has a malformed port") from exc
    if not append_path:
        return text
    path = parts.path.rstrip("/")
    if not path.endswith(TRACES_PATH):
        path = path + TRACES_PATH
    return parts._replace(path=path).geturl()


def origin(url: str) -> str:
    """scheme://host:port, the unit a credential is bound to (default ports made explicit,
    so https://h and https://h:443 are one origin)."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.scheme}://{parts.hostname}:{port}"


def parse_headers(value: Any) -> dict[str, str]:
    """`k=v,k2=v2` (OTel's format, values URL-encoded) or a mapping."""
    if isinstance(value, Mapping):
        return {str(k): str(v) for k, v in value.items()}
    headers: dict[str, str] = {}
    for item in str(value).split(","):
        if not item.strip():
            continue
        key, sep, val = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"header {item.strip()!r} is not key=value")
        headers[unquote(key.strip())] = unquote(val.strip())
    return headers


def parse_resource_attributes(value: Any) -> dict[str, str]:
    """OTEL_RESOURCE_ATTRIBUTES: `k=v,k2=v2` (values URL-encoded)."""
    return parse_headers(value)


@dataclass(frozen=True)
class Param:
    """One setting: where it can come from, in order, and what it becomes."""

    name: str
    doc: str
    parse: Callable[[Any], Any]
    default: Any = None
    staso_env: tuple[str, ...] = ()
    otel_env: tuple[tuple[str, Callable[[str], Any]], ...] = ()
    in_profile: bool = True
    secret: bool = False
    # OTEL_* sources of a transport setting describe the OTEL destination: they apply only
    # when spans go to that origin (see the module docstring).
    transport: bool = False


def _otel_endpoint(value: str) -> str:
    """OTEL_EXPORTER_OTLP_ENDPOINT is a base URL: the spec appends `v1/traces` to it
    always, even to a URL that already ends in it (status says so; use the TRACES_ form
    for a full URL). staso's own --endpoint/STASO_ENDPOINT are more forgiving."""
    normalize_endpoint(value, append_path=False)  # the same URL checks
    return f"{str(value).strip().removesuffix('/')}{TRACES_PATH}"


def _otel_ms(value: str) -> float:
    """OTEL_EXPORTER_OTLP_(TRACES_)TIMEOUT is in milliseconds (SDK environment spec)."""
    return _parse_float(value) / 1000.0


def _otel_true(value: str) -> bool:
    """The spec's boolean: only a case-insensitive "true" is true, anything else false."""
    return str(value).strip().lower() == "true"


def _parse_names(value: Any) -> tuple[str, ...]:
    """OTEL_TRACES_EXPORTER: a comma list; "none" means no exporter."""
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    names = [str(n).strip().lower() for n in items if str(n).strip()]
    return tuple(n for n in names if n != "none")


PROTOCOLS = ("http/protobuf", "http/json")
EXPORTERS = ("otlp", "console")


def _parse_protocol(value: Any) -> str:
    text = str(value).strip().lower()
    if text not in (*PROTOCOLS, "grpc"):
        raise ValueError(f"expected http/protobuf, http/json or grpc, got {value!r}")
    return text


def _parse_compression(value: Any) -> str:
    text = str(value).strip().lower()
    if text not in ("gzip", "deflate", "none"):
        raise ValueError(f"expected gzip or none, got {value!r}")
    return text


def _otel_traces_endpoint(value: str) -> str:
    return normalize_endpoint(value, append_path=False)


PARAMS: tuple[Param, ...] = (
    Param(
        "endpoint",
        "OTLP/HTTP traces URL (a base URL gets /v1/traces appended).",
        normalize_endpoint,
        STASO_ENDPOINT,
        ("STASO_ENDPOINT",),
        (
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", _otel_traces_endpoint),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", _otel_endpoint),
        ),
    ),
    Param(
        "use_otel_endpoint",
        "true: an OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT in the environment overrides the "
        "profile's endpoint (as in the SDK). false: the endpoint `staso setup` stored wins "
        "and `staso status` names the variable it ignored (a `note` line).",
        _parse_bool,
        False,
        ("STASO_USE_OTEL_ENDPOINT",),
    ),
    Param(
        "api_key",
        "Staso API key, sent as X-API-Key only to the origin it was given for; kept in "
        "credentials.json (0600) with that origin.",
        _parse_str,
        None,
        ("STASO_API_KEY",),
        secret=True,
    ),
    Param(
        "headers",
        "Extra export headers, k=v,k2=v2. Staso's own (flag, STASO_HEADERS, profile) go "
        "only to the origin they were given for, OTEL_* ones only to the OTEL destination.",
        parse_headers,
        {},
        ("STASO_HEADERS",),
        (
            ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", parse_headers),
            ("OTEL_EXPORTER_OTLP_HEADERS", parse_headers),
        ),
        transport=True,
    ),
    Param(
        "service_name",
        "Resource service.name.",
        _parse_str,
        None,
        ("STASO_SERVICE_NAME",),
        (("OTEL_SERVICE_NAME", str),),
    ),
    Param(
        "resource_attributes",
        "Extra resource attributes, k=v,k2=v2.",
        parse_resource_attributes,
        {},
        ("STASO_RESOURCE_ATTRIBUTES",),
        (("OTEL_RESOURCE_ATTRIBUTES", parse_resource_attributes),),
    ),
    Param(
        "workspace",
        "Staso workspace (resource staso.workspace).",
        _parse_str,
        "default",
        ("STASO_WORKSPACE",),
    ),
    Param(
        "environment",
        "deployment.environment.name.",
        _parse_str,
        "development",
        ("STASO_ENVIRONMENT",),
    ),
    Param(
        "agent_id",
        "gen_ai.agent.id and staso.agent_id; defaults to the target name.",
        _parse_str,
        None,
        ("STASO_AGENT_ID",),
    ),
    Param(
        "project_name",
        "openinference.project.name (Phoenix project); defaults to workspace.",
        _parse_str,
        None,
        ("STASO_PROJECT_NAME",),
    ),
    Param(
        "capture_content",
        "Send prompts, responses, tool input/output (false: metadata only).",
        _parse_bool,
        True,
        ("STASO_CAPTURE_CONTENT",),
        # the GenAI semantic conventions' switch for the same thing
        (("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", _parse_bool),),
    ),
    Param(
        "max_attribute_bytes",
        "Size cap of one content attribute, in bytes. Content up to it arrives whole (a"
        " session's state keeps twice as much of each value, at least 128 KiB of transcript"
        " content and 32 KiB of a hook's, until its turn closes); longer content is cut to"
        " it with a `…[truncated]` mark, named in `staso.truncated`, and JSON stays JSON.",
        _parse_int,
        16384,
        ("STASO_MAX_ATTRIBUTE_BYTES",),
    ),
    Param(
        "spool_max_bytes",
        "Bound of the export spool on disk; past it the oldest batches go.",
        _parse_int,
        256 * 1024 * 1024,
        ("STASO_SPOOL_MAX_BYTES",),
    ),
    Param(
        "certificate",
        "CA bundle (PEM) that verifies the endpoint's TLS certificate; wins over "
        "REQUESTS_CA_BUNDLE, which other tools set for their own servers.",
        _parse_str,
        None,
        ("STASO_CERTIFICATE",),
        (
            ("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", str),
            ("OTEL_EXPORTER_OTLP_CERTIFICATE", str),
        ),
        transport=True,
    ),
    Param(
        "export_timeout",
        "Seconds one export request may take.",
        _parse_float,
        10.0,
        ("STASO_EXPORT_TIMEOUT",),
        (
            ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", _otel_ms),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", _otel_ms),
        ),
        transport=True,
    ),
    Param(
        "protocol",
        "OTLP encoding over HTTP: http/protobuf or http/json. grpc is not spoken (the gRPC "
        "exporter is not a dependency): spans wait in the spool and status says so.",
        _parse_protocol,
        "http/protobuf",
        ("STASO_PROTOCOL",),
        (
            ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", _parse_protocol),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", _parse_protocol),
        ),
        transport=True,
    ),
    Param(
        "compression",
        "Request body compression: gzip or none.",
        _parse_compression,
        "none",
        ("STASO_COMPRESSION",),
        (
            ("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", _parse_compression),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", _parse_compression),
        ),
        transport=True,
    ),
    Param(
        "client_key",
        "Private key (PEM) for mutual TLS.",
        _parse_str,
        None,
        ("STASO_CLIENT_KEY",),
        (
            ("OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", str),
            ("OTEL_EXPORTER_OTLP_CLIENT_KEY", str),
        ),
        transport=True,
    ),
    Param(
        "client_certificate",
        "Client certificate (PEM) for mutual TLS.",
        _parse_str,
        None,
        ("STASO_CLIENT_CERTIFICATE",),
        (
            ("OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE", str),
            ("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", str),
        ),
        transport=True,
    ),
    Param(
        "sdk_disabled",
        "OTEL_SDK_DISABLED=true: spans are made from the records but dropped, not exported.",
        _otel_true,
        False,
        otel_env=(("OTEL_SDK_DISABLED", _otel_true),),
        in_profile=False,
    ),
    Param(
        "traces_exporter",
        "otlp, console (JSON lines in STASO_HOME/logs/console-spans.jsonl: the worker has "
        "no terminal), both, or none (dropped). Another name keeps spans in the spool.",
        _parse_names,
        ("otlp",),
        otel_env=(("OTEL_TRACES_EXPORTER", _parse_names),),
        in_profile=False,
    ),
    Param(
        "traces_sampler",
        "The SDK's samplers by name, deciding on the trace id: a trace goes whole or not.",
        _parse_str,
        None,
        otel_env=(("OTEL_TRACES_SAMPLER", str),),
        in_profile=False,
    ),
    Param(
        "traces_sampler_arg",
        "The ratio of traceidratio and parentbased_traceidratio (default 1.0).",
        _parse_str,
        None,
        otel_env=(("OTEL_TRACES_SAMPLER_ARG", str),),
        in_profile=False,
    ),
    Param(
        "worker_idle_seconds",
        "How long the export worker lingers for more records.",
        _parse_float,
        5.0,
        ("STASO_WORKER_IDLE_SECONDS",),
    ),
    Param(
        "retry_linger_seconds",
        "How long a worker stays, after its last success or record, while spans wait for a "
        "retry (a Retry-After, a backoff, a parked batch's hourly retry); past it the next "
        "hook or `staso flush` retries them.",
        _parse_float,
        86400.0,
        ("STASO_RETRY_LINGER_SECONDS",),
    ),
    Param(
        "auto_sync",
        "Re-sync hook entries at SessionStart after an upgrade.",
        _parse_bool,
        False,
        ("STASO_AUTO_SYNC",),
    ),
    Param(
        "raise_internal",
        "Re-raise internal errors instead of logging them (tests).",
        _parse_bool,
        False,
        ("STASO_RAISE_INTERNAL",),
        in_profile=False,
    ),
)
PARAMS_BY_NAME = {p.name: p for p in PARAMS}


@dataclass(frozen=True)
class Settings:
    """Resolved settings; `source` says where each value came from (for `staso status`).

    `key_origin` / `headers_origin`: the origin the API key and staso's own headers are
    bound to; `otel_headers` / `otel_origin`: the OTEL_* headers and the destination they
    are for; `notes`: one line per variable that is set but not in effect, and why.
    """

    profile: str
    values: Mapping[str, Any]
    source: Mapping[str, str] = field(default_factory=dict)
    key_origin: str | None = None
    headers_origin: str | None = None
    otel_headers: Mapping[str, str] = field(default_factory=dict)
    otel_origin: str = field(default_factory=lambda: origin(OTEL_DEFAULT_ENDPOINT))
    notes: tuple[str, ...] = ()
    blocker: str | None = None  # set, but staso cannot export that way: nothing is sent

    def __getattr__(self, name: str) -> Any:
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def is_staso_endpoint(self) -> bool:
        return urlsplit(self.values["endpoint"]).hostname == urlsplit(STASO_ENDPOINT).hostname

    @property
    def key_sent(self) -> bool:
        """Does the API key go with the spans to the endpoint in effect?"""
        return bool(self.values.get("api_key")) and self.key_origin == origin(self.endpoint)

    def key_line(self) -> str:
        """Whether the key goes where spans go, for `staso status` and `staso setup`."""
        if not self.values.get("api_key"):
            return "none"
        if self.key_sent:
            return f"sent ({self.source.get('api_key', 'default')})"
        return (
            f"not sent: it was given for {self.key_origin}, spans go to "
            f"{origin(self.endpoint)} (pass STASO_API_KEY with STASO_ENDPOINT, or "
            "`staso setup --endpoint URL --api-key K`, to use a key there)"
        )

    def export_headers(self) -> dict[str, str]:
        """The headers a request to `endpoint` carries: only those bound to its origin."""
        here = origin(self.endpoint)
        ours = self.values["headers"] if self.headers_origin == here else {}
        theirs = self.otel_headers if self.otel_origin == here else {}
        # on a clash the higher layer wins: OTEL_* outranks only the profile's headers
        low, high = (ours, theirs) if self.source.get("headers") == "profile" else (theirs, ours)
        headers = {**low, **high}
        if self.key_sent:
            headers[API_KEY_HEADER] = self.values["api_key"]
        return headers

    def require_key(self) -> None:
        """The Staso endpoint refuses spans without a key: say so before anything is sent.
        Also refuses to export in a way staso cannot (the spans wait in the spool)."""
        if self.blocker:
            raise SettingsError(self.blocker)
        if self.is_staso_endpoint and not self.key_sent:
            raise SettingsError(
                "no API key for the Staso endpoint: pass --api-key or set STASO_API_KEY, "
                "or send to another collector with --endpoint URL"
            )


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise SettingsError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise SettingsError(f"cannot read {path}: expected a JSON object")
    return data


def load_profiles(home: Path | None = None) -> dict[str, Any]:
    return _read_json(paths.settings_file(home))


def load_credentials(home: Path | None = None) -> dict[str, Any]:
    return _read_json(paths.credentials_file(home))


def save_profile(
    name: str,
    values: Mapping[str, Any],
    *,
    api_key: str | None = None,
    make_default: bool = True,
    home: Path | None = None,
) -> None:
    """Write one profile; the key goes to credentials.json, never to settings.json."""
    unknown = set(values) - {p.name for p in PARAMS if p.in_profile and not p.secret}
    if unknown:
        raise SettingsError(f"unknown setting(s): {', '.join(sorted(unknown))}")
    data = load_profiles(home)
    profiles = data.setdefault("profiles", {})
    profiles[name] = {k: v for k, v in values.items() if v is not None}
    if make_default or "default_profile" not in data:
        data["default_profile"] = name
    paths.atomic_write(paths.settings_file(home), json.dumps(data, indent=2).encode() + b"\n")
    if api_key is not None:
        # Bound to the endpoint it was given for; another endpoint never receives it.
        bound = origin(profiles[name].get("endpoint") or STASO_ENDPOINT)
        creds = load_credentials(home)
        creds.setdefault("profiles", {})[name] = {"api_key": api_key, "origin": bound}
        paths.atomic_write(paths.credentials_file(home), json.dumps(creds, indent=2).encode())


def delete_profiles(home: Path | None = None) -> None:
    for path in (paths.settings_file(home), paths.credentials_file(home)):
        path.unlink(missing_ok=True)


def load(
    profile: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    home: Path | None = None,
) -> Settings:
    """Resolve every setting. `overrides` are command-line flags (None = not given)."""
    env = os.environ if env is None else env
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None and v != ""}
    data = load_profiles(home)
    asked = profile or env.get("STASO_PROFILE") or None
    name = asked or data.get("default_profile") or DEFAULT_PROFILE
    profiles = data.get("profiles", {})
    if asked and asked not in profiles:
        known = ", ".join(sorted(profiles)) or "none yet"
        raise SettingsError(
            f"unknown profile {asked!r} (known: {known}); create it with "
            f"`staso setup --profile {asked}`"
        )
    stored = dict(profiles.get(name, {}))
    creds = load_credentials(home).get("profiles", {}).get(name, {})
    if creds.get("api_key"):
        stored["api_key"] = creds["api_key"]

    values: dict[str, Any] = {}
    source: dict[str, str] = {}
    otel_raw: dict[str, tuple[Any, str]] = {}  # transport settings' OTEL_* values, held back
    # use_otel_endpoint first: it decides the endpoint's precedence
    for param in sorted(PARAMS, key=lambda p: p.name != "use_otel_endpoint"):
        otel_first = param.name != "endpoint" or bool(values.get("use_otel_endpoint"))
        raw, where, parse = _pick(param, overrides, env, stored, otel_first=otel_first)
        if param.transport and (otel := _otel_value(param, env))[1]:
            otel_raw[param.name] = otel
        if raw is None:
            values[param.name] = param.default
            source[param.name] = "default"
            continue
        values[param.name] = _parse(param, raw, where, parse)
        source[param.name] = where

    # Where each staso layer points, to bind credentials to the layer they came from.
    layer_endpoint = {
        "flag": _parse(PARAMS_BY_NAME["endpoint"], overrides.get("endpoint"), "flag"),
        "env": _parse(PARAMS_BY_NAME["endpoint"], env.get("STASO_ENDPOINT"), "STASO_ENDPOINT"),
        "profile": _parse(PARAMS_BY_NAME["endpoint"], stored.get("endpoint"), "profile"),
    }
    otel_endpoint, otel_var = _otel_value(PARAMS_BY_NAME["endpoint"], env)
    otel_origin = origin(otel_endpoint or OTEL_DEFAULT_ENDPOINT)
    here = origin(values["endpoint"])
    notes: list[str] = _bad_otel(env)
    if otel_var and source["endpoint"] != otel_var:
        why = (
            "the profile's endpoint wins (to follow it: `staso setup --use-otel-endpoint` "
            "or STASO_USE_OTEL_ENDPOINT=true)"
            if source["endpoint"] == "profile"
            else f"{source['endpoint']} wins"
        )
        notes.append(f"{otel_var}={env[otel_var]} ignored: {why}")

    if otel_var == "OTEL_EXPORTER_OTLP_ENDPOINT" and urlsplit(env[otel_var]).path.rstrip(
        "/"
    ).endswith(TRACES_PATH):
        notes.append(
            f"OTEL_EXPORTER_OTLP_ENDPOINT={env[otel_var]} is a base URL to the SDK, which adds "
            f"{TRACES_PATH} again ({otel_endpoint}); give a full URL as "
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
        )

    otel_headers: dict[str, str] = {}
    for pname, (value, var) in otel_raw.items():
        if otel_origin != here:
            notes.append(f"{var} ignored: it is for {otel_origin}, spans go to {here}")
        elif pname == "headers":
            otel_headers = value
        elif source[pname] in ("profile", "default"):  # OTEL_* > profile > default
            values[pname], source[pname] = value, var

    return Settings(
        profile=name,
        values=values,
        source=source,
        blocker=_blocker(values, source),
        key_origin=_bound_origin(source["api_key"], layer_endpoint, creds.get("origin")),
        headers_origin=_bound_origin(source["headers"], layer_endpoint, None),
        otel_headers=otel_headers,
        otel_origin=otel_origin,
        notes=tuple(notes),
    )


def _blocker(values: Mapping[str, Any], source: Mapping[str, str]) -> str | None:
    """What is asked for but cannot be done: one line, and the spans wait in the spool."""
    if values["protocol"] == "grpc":
        return (
            f"{source['protocol']}=grpc: staso speaks OTLP over HTTP only (http/protobuf, "
            "http/json); spans wait in the spool. Set http/protobuf and the collector's "
            "OTLP/HTTP port (4318)"
        )
    unknown = [n for n in values["traces_exporter"] if n not in EXPORTERS]
    if unknown:
        return (
            f"OTEL_TRACES_EXPORTER={','.join(unknown)}: staso exports otlp, console or none; "
            "spans wait in the spool"
        )
    return None


def _parse(param: Param, raw: Any, where: str, parse: Callable[[Any], Any] | None = None) -> Any:
    if raw is None or raw == "":
        return None
    try:
        return (parse or param.parse)(raw)
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"bad value for {param.name} from {where}: {exc}") from None


def _otel_value(param: Param, env: Mapping[str, str]) -> tuple[Any, str]:
    """(parsed value, variable) of the first OTEL_* source of `param` that is set."""
    raw, var = _pick_otel(param, env)
    if raw is None:
        return None, ""
    return _parse(param, raw, var, dict(param.otel_env)[var]), var


LAYERS = ("flag", "env", "profile")


def _bound_origin(
    where: str, layer_endpoint: Mapping[str, str | None], stored_origin: str | None
) -> str | None:
    """The origin a credential from `where` belongs to: its own layer's endpoint, else a
    lower staso layer's, else Staso's. Never an OTEL_* endpoint: those are ambient."""
    if where == "default":
        return None
    layer = where if where in ("flag", "profile") else "env"  # else it is a STASO_* var
    if layer == "profile" and stored_origin:
        return stored_origin  # what `staso setup` recorded with the key
    for lower in LAYERS[LAYERS.index(layer) :]:
        if layer_endpoint[lower]:
            return origin(layer_endpoint[lower])
    return origin(STASO_ENDPOINT)


def defaults() -> Settings:
    """Every setting at its default: what the worker records with when settings are broken."""
    return Settings(
        DEFAULT_PROFILE, {p.name: p.default for p in PARAMS}, {p.name: "default" for p in PARAMS}
    )


def _pick(
    param: Param,
    overrides: Mapping[str, Any],
    env: Mapping[str, str],
    stored: Mapping[str, Any],
    *,
    otel_first: bool = True,
) -> tuple[Any, str, Callable[[Any], Any]]:
    if param.name in overrides:
        return overrides[param.name], "flag", param.parse
    for var in param.staso_env:
        if env.get(var):
            return env[var], var, param.parse
    if otel_first and not param.transport:
        raw, var = _pick_otel(param, env)
        if raw is not None:
            return raw, var, dict(param.otel_env)[var]
    if param.in_profile and stored.get(param.name) not in (None, ""):
        return stored[param.name], "profile", param.parse
    if not param.transport:
        raw, var = _pick_otel(param, env)  # below the profile: the endpoint's exception
        if raw is not None:
            return raw, var, dict(param.otel_env)[var]
    return None, "default", param.parse


def _pick_otel(param: Param, env: Mapping[str, str]) -> tuple[Any, str]:
    """The first OTEL_* variable of `param` that is set to a value it can parse. As the SDK
    does, a bad value is ignored (with a note, `_bad_otel`), not an error: it may be set for
    another application, and must not stop this agent's spans."""
    for var, parse in param.otel_env:
        if env.get(var):
            try:
                parse(env[var])
            except (TypeError, ValueError):
                continue
            return env[var], var
    return None, ""


def _bad_otel(env: Mapping[str, str]) -> list[str]:
    notes = []
    for param in PARAMS:
        for var, parse in param.otel_env:
            if env.get(var):
                try:
                    parse(env[var])
                except (TypeError, ValueError) as exc:
                    notes.append(f"{var}={env[var]!r} ignored: not a valid value ({exc})")
    return notes


# Every OTEL_* variable of the SDK environment spec that bears on a trace exporter, what it
# does on the hook/worker path, and the test (tests/test_otel_env.py unless named) that
# checks it against a real receiver. `_TRACES_` stands for the signal-specific form, which
# wins over the general one, as in the SDK.
OTEL_VARS: tuple[tuple[str, str, str], ...] = (
    (
        "OTEL_SDK_DISABLED",
        "`true` (any case): records are read, spans made and dropped; nothing is exported and"
        " `staso status` says so. Any other value: false.",
        "test_disabled_or_no_exporter_sends_nothing_and_says_so,"
        " test_sdk_disabled_false_still_exports",
    ),
    (
        "OTEL_TRACES_EXPORTER",
        "`otlp` (default); `console`: the SDK's console exporter, one JSON span per line, into"
        " `STASO_HOME/logs/console-spans.jsonl` (the worker has no terminal); `otlp,console`:"
        " both, a span written once the OTLP export took it; `none`: dropped. Another name"
        " (zipkin, ...): not available here, spans wait in the spool, one line in status and"
        " the log.",
        "test_disabled_or_no_exporter_sends_nothing_and_says_so,"
        " test_console_exporter_writes_each_span_as_json_to_the_log_folder,"
        " test_otlp_and_console_together,"
        " test_console_shows_a_span_once_though_the_otlp_export_was_retried,"
        " test_an_exporter_staso_lacks_keeps_the_spans_and_says_so",
    ),
    (
        "OTEL_TRACES_SAMPLER",
        "`always_on`, `always_off`, `traceidratio` and their `parentbased_` forms, as the SDK's"
        " samplers; every hook span is decided on its trace id, so a trace is kept or dropped"
        " whole. `jaeger_remote`, `xray`, ...: not available, `parentbased_always_on` as the"
        " SDK falls back, and status says so.",
        "test_always_off_samplers_send_nothing,"
        " test_ratio_sampling_keeps_or_drops_whole_traces_by_trace_id,"
        " test_a_sampler_staso_lacks_falls_back_to_the_sdk_default_and_says_so",
    ),
    (
        "OTEL_TRACES_SAMPLER_ARG",
        "The ratio of the `traceidratio` samplers (default 1.0; not a number in [0, 1]: 1.0"
        " and a status line).",
        "test_ratio_sampling_keeps_or_drops_whole_traces_by_trace_id",
    ),
    (
        "OTEL_ATTRIBUTE_COUNT_LIMIT, OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT",
        "Attributes kept per span (the SDK's SpanLimits, default 128; the span form wins).",
        "test_attribute_count_limit",
    ),
    (
        "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT, OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT",
        "String values cut to this many characters, after staso's own JSON-safe cap"
        " (`max_attribute_bytes`); event attributes follow the general one.",
        "test_span_attribute_value_length_limit_beats_the_general_one",
    ),
    (
        "OTEL_SPAN_EVENT_COUNT_LIMIT, OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT",
        "Events kept per span; attributes kept per event.",
        "test_event_limits",
    ),
    (
        "OTEL_SPAN_LINK_COUNT_LIMIT, OTEL_LINK_ATTRIBUTE_COUNT_LIMIT",
        "No effect: staso's spans carry no links.",
        "test_variables_without_effect_here_change_nothing",
    ),
    (
        "OTEL_SERVICE_NAME",
        "`service.name`; wins over a `service.name` in OTEL_RESOURCE_ATTRIBUTES.",
        "test_otel_service_name_beats_service_name_in_resource_attributes",
    ),
    (
        "OTEL_RESOURCE_ATTRIBUTES",
        "The user's resource attributes (values URL-decoded). They win over staso's defaults"
        " (service.name, deployment.environment.name, ...), a staso setting the user set wins"
        " over them, and staso adds only the keys still missing.",
        "test_user_resource_attributes_win_and_staso_adds_what_is_missing",
    ),
    (
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "A base URL: `/v1/traces` is appended, always (a URL already ending in it gets it"
        " twice, as in the SDK; status names OTEL_EXPORTER_OTLP_TRACES_ENDPOINT instead)."
        " Ranks below the profile's endpoint unless `use_otel_endpoint` (see above).",
        "test_a_base_endpoint_gets_the_signal_path_appended_as_the_spec_says,"
        " test_credentials.py::test_ambient_otel_endpoint_does_not_redirect_a_set_up_agent",
    ),
    (
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "The full URL, used as given.",
        "test_a_traces_endpoint_is_used_as_given",
    ),
    (
        "OTEL_EXPORTER_OTLP_[TRACES_]HEADERS",
        "Headers, sent only to the OTEL destination's origin (never to Staso's or a"
        " profile's endpoint); the TRACES form replaces the general one.",
        "test_traces_headers_replace_the_general_ones,"
        " test_credentials.py::test_opting_in_follows_the_otel_endpoint_and_the_key_stays_home",
    ),
    (
        "OTEL_EXPORTER_OTLP_[TRACES_]TIMEOUT",
        "Milliseconds one export request may take.",
        "test_timeout_is_in_milliseconds,"
        " test_a_hanging_receiver_is_given_up_on_after_the_milliseconds_asked",
    ),
    (
        "OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL",
        "`http/protobuf` (default) or `http/json` (OTLP/JSON). `grpc`: not spoken (the gRPC"
        " exporter is not a dependency); spans wait in the spool, one line in status and log.",
        "test_http_json_is_otlp_json_a_receiver_decodes,"
        " test_grpc_is_not_spoken_spans_wait_and_status_and_log_say_so",
    ),
    (
        "OTEL_EXPORTER_OTLP_[TRACES_]COMPRESSION",
        "`gzip` or `none`, for either protocol.",
        "test_gzip_compression",
    ),
    (
        "OTEL_EXPORTER_OTLP_[TRACES_]CERTIFICATE",
        "CA bundle (PEM) the endpoint's certificate is verified with.",
        "test_certificate_lets_the_exporter_trust_a_private_ca",
    ),
    (
        "OTEL_EXPORTER_OTLP_[TRACES_]CLIENT_KEY, OTEL_EXPORTER_OTLP_[TRACES_]CLIENT_CERTIFICATE",
        "Key and certificate (PEM) for mutual TLS.",
        "test_client_key_and_certificate_for_mutual_tls",
    ),
    (
        "OTEL_EXPORTER_OTLP_[TRACES_]INSECURE",
        "No effect: a gRPC setting; over HTTP the URL's scheme decides TLS.",
        "test_variables_without_effect_here_change_nothing",
    ),
    (
        "OTEL_BSP_SCHEDULE_DELAY, OTEL_BSP_EXPORT_TIMEOUT, OTEL_BSP_MAX_QUEUE_SIZE,"
        " OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
        "No effect on the hook path: the worker sends from its durable spool, a turn at a"
        " time (bounded by `spool_max_bytes`). The library's `configure()` uses the SDK's"
        " BatchSpanProcessor, which reads them.",
        "test_variables_without_effect_here_change_nothing",
    ),
    (
        "OTEL_PROPAGATORS",
        "No effect: hook spans have no incoming context to extract.",
        "test_variables_without_effect_here_change_nothing",
    ),
)


def markdown_table() -> str:
    """docs/settings.md, generated from PARAMS (a test keeps the file in step)."""
    lines = [
        "# Settings",
        "",
        "Generated from `staso_otel/settings.py`:"
        " `python -m staso_otel.settings > docs/settings.md`.",
        "Precedence: flag > `STASO_*` env > `OTEL_*` env > profile (`STASO_HOME/settings.json`)"
        " > default. An empty variable counts as unset. API keys live in"
        " `STASO_HOME/credentials.json` (0600), never in `settings.json` or a hook config.",
        "",
        "## Where spans go, and what goes with them",
        "",
        "- **The one exception to the precedence: the endpoint.** An agent's hooks inherit the"
        " user's shell, where `OTEL_EXPORTER_OTLP_ENDPOINT` is often kept for some other"
        " application. So the endpoint a profile stores (`staso setup` always stores one:"
        " `--endpoint`, `--local`, or Staso's) outranks `OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT`:"
        " flag > `STASO_ENDPOINT` > profile > `OTEL_*` > default. `staso status` names the"
        " variable it ignored. To let the OTEL_* endpoint win on purpose:"
        " `staso setup --use-otel-endpoint` (stored in the profile) or"
        " `STASO_USE_OTEL_ENDPOINT=true`. With no profile endpoint (library use without setup)"
        " the OTEL_* endpoint beats the default, as in the SDK.",
        "- **Credentials are bound to the origin (scheme, host, port) they were given for.**"
        " The API key and staso's own headers go only to the endpoint of the layer they came"
        " from: a flag's key to the flag's endpoint, `STASO_API_KEY`/`STASO_HEADERS` to"
        " `STASO_ENDPOINT`, the profile's key to the endpoint `staso setup` stored with it"
        " (recorded in credentials.json); a layer that names no endpoint falls back to the"
        " layer below, then to Staso's. No `OTEL_*` endpoint ever receives them. Any other"
        " endpoint, from any setting, gets the spans without them; `staso status` says where"
        " spans go, which setting put them there, and whether the key goes along.",
        "- **`OTEL_EXPORTER_OTLP_*` transport variables describe the OTEL destination**"
        " (the OTEL_* endpoint, else the SDK default `http://localhost:4318`): its headers,"
        " timeout and the like apply only when spans go to that origin; otherwise they are"
        " ignored and `staso status` says so. So another application's bearer token never"
        " reaches Staso, and Staso's key never reaches another application's collector.",
        "- **The worker sends with the standard library** (`export/transport.py` over"
        " `http.client`; it needs neither `requests` nor the SDK's exporter), keeping what"
        " requests did: `HTTPS_PROXY` / `HTTP_PROXY` / `ALL_PROXY` / `NO_PROXY` (either case)"
        " are honoured, https through a CONNECT tunnel and http as an absolute-form request,"
        " `user:password@` in the proxy URL sent as `Proxy-Authorization`, `NO_PROXY` host"
        " names, suffixes, addresses and networks (`127.0.0.0/8`, `10.0.0.0/8`, as requests"
        " reads them) bypassing it (the proxy is spoken to over `http://`). `staso status`,"
        " `staso flush` and `staso import`, which first ask whether the endpoint can be"
        " reached, ask the proxy when one applies. With no `certificate` set, https is"
        " verified against `REQUESTS_CA_BUNDLE`"
        " or `CURL_CA_BUNDLE` if set, else certifi's bundle (as requests did), else the"
        " system's. Redirects are never followed. The library's `configure()` still exports"
        " through the SDK's exporter (`tests/test_proxy.py`).",
        "",
        "| setting | STASO env | OTEL env | in profile | default | what it does |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for p in PARAMS:
        staso_env = ", ".join(f"`{v}`" for v in p.staso_env) or "-"
        otel_env = ", ".join(f"`{v}`" for v, _ in p.otel_env) or "-"
        default = "-" if p.default in (None, {}) else f"`{p.default}`"
        in_profile = "no" if not p.in_profile else ("credentials" if p.secret else "yes")
        lines.append(
            f"| `{p.name}` | {staso_env} | {otel_env} | {in_profile} | {default} | {p.doc} |"
        )
    lines += [
        "",
        "## Every OTEL_* variable on the hook path",
        "",
        "What each variable of the OTel SDK environment spec that bears on a trace exporter"
        " does for the hooks' spans, and the test in `tests/test_otel_env.py` that checks it"
        " against a real receiver. `[TRACES_]`: the general form and the signal-specific one,"
        " which wins. The `OTEL_EXPORTER_OTLP_*` ones apply only when spans go to the OTEL"
        " destination (above).",
        "",
        "| variable | what it does here | tested by |",
        "| --- | --- | --- |",
    ]
    for names, doc, tests in OTEL_VARS:
        var = ", ".join(f"`{n.strip()}`" for n in names.split(","))
        tested = ", ".join(f"`{t.strip()}`" for t in tests.split(","))
        lines.append(f"| {var} | {doc} | {tested} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown_table(), end="")
