"""A real Arize Phoenix on 127.0.0.1 for interop tests, in its own virtual environment.

`phoenix_binary()` installs `arize-phoenix==20.26.1` into `$STASO_TEST_CACHE/phoenix-20.26.1`
on first use. `Phoenix` runs `phoenix serve` on free loopback ports with its telemetry and
external resources off and a scratch working directory (see `loopback_service`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from loopback_service import Service, clean_env, free_port, venv_binary

PHOENIX_VERSION = "20.26.1"


def phoenix_binary() -> Path:
    return venv_binary("arize-phoenix", PHOENIX_VERSION, "phoenix")


@dataclass
class Phoenix(Service):
    grpc_port: int = 0

    name = "phoenix"
    health_path = "/healthz"

    @property
    def endpoint(self) -> str:
        return f"{self.base_url}/v1/traces"

    def command(self) -> tuple[list[str], dict[str, str]]:
        self.grpc_port = free_port()
        env = clean_env("PHOENIX_", "OTEL_")
        env.update(
            PHOENIX_HOST="127.0.0.1",
            PHOENIX_PORT=str(self.port),
            PHOENIX_GRPC_PORT=str(self.grpc_port),
            PHOENIX_WORKING_DIR=str(self.workdir),
            PHOENIX_TELEMETRY_ENABLED="false",
            PHOENIX_ALLOW_EXTERNAL_RESOURCES="false",
        )
        return [str(phoenix_binary()), "serve"], env
