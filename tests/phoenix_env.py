"""A real Arize Phoenix on 127.0.0.1 for interop tests, in its own virtual environment.

`phoenix_binary()` installs `arize-phoenix==20.26.1` into `$STASO_TEST_CACHE/phoenix-20.26.1`
on first use. `Phoenix` runs `phoenix serve` on free loopback ports with its telemetry and
external resources off and a scratch working directory (see `loopback_service`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

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

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        answer = self.request("POST", "/graphql", {"query": query, "variables": variables or {}})
        if answer.get("errors"):
            raise RuntimeError(f"phoenix graphql: {answer['errors']}")
        return answer["data"]

    def price_model(self, name: str, provider: str, per_million: dict[str, float]) -> None:
        """A price for `name` (Phoenix's own table has none for a mock model): token type
        (input, cache_read, cache_write, output) -> USD per million tokens."""
        costs = [
            {
                "tokenType": kind,
                "costPerMillionTokens": price,
                "kind": "COMPLETION" if kind == "output" else "PROMPT",
            }
            for kind, price in per_million.items()
        ]
        self.graphql(
            "mutation($i: CreateModelMutationInput!) { createModel(input: $i) { model { id } } }",
            {"i": {"name": name, "provider": provider, "namePattern": name, "costs": costs}},
        )

    def span_costs(self, span_node_id: str) -> dict[str, tuple[float, float]]:
        """Phoenix's cost of one span: token type -> (tokens, USD)."""
        data = self.graphql(
            "query($id: ID!) { node(id: $id) { ... on Span { costDetailSummaryEntries "
            "{ tokenType value { tokens cost } } } } }",
            {"id": span_node_id},
        )
        entries = data["node"]["costDetailSummaryEntries"]
        return {e["tokenType"]: (e["value"]["tokens"], e["value"]["cost"]) for e in entries}
