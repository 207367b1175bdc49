"""A real MLflow tracking server on 127.0.0.1 for interop tests, in its own venv.

`mlflow_binary()` installs `mlflow==3.17.2` into `$STASO_TEST_CACHE/mlflow-3.17.2` on first
use (`.ci/run` fills the same folder). `MLflow` runs `mlflow server` with a SQLite store in
a scratch folder; `experiment()` creates an experiment through the REST API (OTLP spans go
to `/v1/traces` with its id in `x-mlflow-experiment-id`), and `traces()` reads them back
through MLflow's own Python client, run in MLflow's venv.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loopback_service import Service, clean_env, venv_binary

MLFLOW_VERSION = "3.17.2"
EXPERIMENT_HEADER = "x-mlflow-experiment-id"

# Runs inside MLflow's venv: every trace of an experiment as plain JSON.
READ_TRACES = """
import json, sys
from mlflow import MlflowClient
client = MlflowClient(tracking_uri=sys.argv[1])
out = []
for trace in client.search_traces(locations=[sys.argv[2]], max_results=500):
    info = trace.info
    out.append({
        "trace_id": info.trace_id,
        "metadata": dict(info.trace_metadata or {}),
        "token_usage": info.token_usage,
        "spans": [
            {
                "name": s.name,
                "span_id": s.span_id,
                "parent_id": s.parent_id,
                "span_type": s.span_type,
                "inputs": s.inputs,
                "outputs": s.outputs,
                "attributes": {k: v for k, v in s.attributes.items()},
            }
            for s in trace.data.spans
        ],
    })
json.dump(out, sys.stdout, default=str)
"""


def mlflow_binary() -> Path:
    return venv_binary("mlflow", MLFLOW_VERSION, "mlflow")


@dataclass
class MLflow(Service):
    name = "mlflow"
    health_path = "/health"

    @property
    def endpoint(self) -> str:
        return f"{self.base_url}/v1/traces"

    def command(self) -> tuple[list[str], dict[str, str]]:
        assert self.workdir is not None
        env = clean_env("MLFLOW_", "OTEL_")
        env["MLFLOW_DISABLE_TELEMETRY"] = "true"
        env["DO_NOT_TRACK"] = "true"
        argv = [
            str(mlflow_binary()),
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            "1",
            "--backend-store-uri",
            f"sqlite:///{self.workdir / 'mlflow.db'}",
            "--default-artifact-root",
            str(self.workdir / "artifacts"),
        ]
        return argv, env

    def experiment(self, name: str) -> str:
        made = self.request("POST", "/api/2.0/mlflow/experiments/create", {"name": name})
        return str(made["experiment_id"])

    def traces(self, experiment_id: str) -> list[dict[str, Any]]:
        python = mlflow_binary().parent / "python"
        env = clean_env("MLFLOW_", "OTEL_")
        env["MLFLOW_DISABLE_TELEMETRY"] = "true"
        done = subprocess.run(
            [str(python), "-c", READ_TRACES, self.base_url, experiment_id],
            capture_output=True,
            text=True,
            timeout=300,
            env=env,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"reading traces failed: {done.stderr[-2000:]}")
        return json.loads(done.stdout)
