"""`staso setup`: configure where spans go and install the agent's hooks."""

from __future__ import annotations

import json
import sys

import click
from staso_cli.options import TARGETS, profile_option, scope_option

LOCAL_ENDPOINT = "http://127.0.0.1:4318"


@click.command()
@click.option("--target", type=click.Choice(TARGETS), help="The agent to trace.")
@click.option("--api-key", envvar="STASO_API_KEY", help="Staso API key (or STASO_API_KEY).")
@click.option("--workspace", help="Staso workspace.")
@click.option("--environment", help="deployment.environment.name, e.g. dev, prod.")
@click.option("--agent-id", help="gen_ai.agent.id for this machine or team.")
@scope_option
@click.option(
    "--auto-sync/--no-auto-sync",
    default=None,
    help="Re-sync the hooks automatically after staso is upgraded.",
)
@click.option("--endpoint", help="Any OTLP/HTTP collector: http://host:4318 or .../v1/traces.")
@click.option("--local", is_flag=True, help=f"Send to `staso collector` on {LOCAL_ENDPOINT}.")
@click.option(
    "--header",
    "headers",
    multiple=True,
    metavar="NAME=VALUE",
    help="An export header sent to this endpoint only (repeatable), e.g. "
    "x-mlflow-experiment-id=1. Given: replaces the profile's headers.",
)
@click.option(
    "--use-otel-endpoint/--no-use-otel-endpoint",
    default=None,
    help="Let an OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT in the agent's environment override "
    "this endpoint (off: an ambient OTEL_* endpoint is ignored, and status says so).",
)
@profile_option
@click.option("--codex-bin", help="The codex executable (default: codex on PATH).")
@click.option("--claude-bin", help="The claude executable (default: claude on PATH).")
@click.option("--gemini-bin", help="The gemini executable (default: gemini on PATH).")
@click.option("--yes", "-y", is_flag=True, help="Don't ask; take flags and defaults.")
@click.option("--json", "as_json", is_flag=True, help="What was set up, as one JSON object.")
def command(
    target,
    api_key,
    workspace,
    environment,
    agent_id,
    scope,
    auto_sync,
    endpoint,
    local,
    headers,
    use_otel_endpoint,
    profile,
    codex_bin,
    claude_bin,
    gemini_bin,
    yes,
    as_json,
) -> None:
    """Trace every session of a coding agent from now on.

    Without --target on a terminal, a wizard asks for each setting. The API key is
    stored in ~/.staso/credentials.json (0600), never in the agent's hook config.

    \b
    Examples:
      staso setup                                             # the wizard
      staso setup --target codex --api-key $STASO_API_KEY     # to the Staso dashboard
      staso setup --target codex --endpoint http://localhost:4318
      staso setup --target codex --local                      # to `staso collector`
      staso setup --target claude-code --scope project --local
      staso setup --target gemini --endpoint http://localhost:4318
      staso setup --target codex --endpoint http://127.0.0.1:5000/v1/traces \\
        --header x-mlflow-experiment-id=1                    # to MLflow
    """
    from staso_otel import paths
    from staso_otel import settings as settings_mod
    from staso_otel.targets import hookfile, installers

    if endpoint is not None and not endpoint.strip():
        # an empty value would fall through to the Staso endpoint: never guess a destination
        raise click.BadParameter(
            "is empty: give a collector URL such as http://localhost:4318, or leave it out "
            "to send to Staso",
            param_hint="'--endpoint'",
        )
    if local:
        endpoint = LOCAL_ENDPOINT
    if target is None:
        if yes or not interactive():
            raise click.UsageError("--target is required when not run interactively")
        target, endpoint, api_key, workspace, environment, agent_id, scope = _wizard(
            endpoint, api_key, workspace, environment, agent_id, scope
        )
    scope = scope or "global"
    install = installers.get(target)
    if scope not in install.SCOPES:
        raise click.UsageError(
            f"--scope {scope} is not a {install.DISPLAY} scope; use {'|'.join(install.SCOPES)}"
        )
    values = {
        "endpoint": endpoint,
        "workspace": workspace,
        "environment": environment,
        "agent_id": agent_id,
    }
    if auto_sync is not None:
        values["auto_sync"] = auto_sync
    if use_otel_endpoint is not None:
        values["use_otel_endpoint"] = use_otel_endpoint
    if headers:
        values["headers"] = _headers(headers)
    name = profile or settings_mod.DEFAULT_PROFILE
    try:
        existing = settings_mod.load_profiles().get("profiles", {}).get(name, {})
        # The profile always names its endpoint, and only what setup was told (never a
        # STASO_*/OTEL_* variable of this shell): that is what outranks an ambient
        # OTEL_* endpoint later, and what the key is bound to.
        values["endpoint"] = endpoint or existing.get("endpoint") or settings_mod.STASO_ENDPOINT
        check = settings_mod.load(
            name if profile and _known(name) else None, {**values, "api_key": api_key}
        )
        check.require_key()
        merged = {**existing, **{k: v for k, v in values.items() if v is not None}}
        merged["endpoint"] = check.endpoint
        binary = {"codex": codex_bin, "claude-code": claude_bin, "gemini": gemini_bin}[target]
        touched = [*install.files_touched(scope), paths.settings_file()]
        if api_key is not None:
            touched.append(paths.credentials_file())
        hookfile.check_writable(touched)  # all of them before any is written
        with hookfile.all_or_nothing(touched):
            lines = install.setup_target(scope, binary, auto_sync)
            settings_mod.save_profile(name, merged, api_key=api_key)
            now = settings_mod.load(name)  # as this shell's environment resolves it
    except (settings_mod.SettingsError, install.InstallError, hookfile.HookFileError) as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"setup failed and was undone: {exc}") from None
    if as_json:
        record = install.load_record()
        report = {
            "target": target,
            "scope": scope,
            "files": [
                record[k] for k in ("hooks_file", "config_file", "settings_file") if k in record
            ],
            "endpoint": now.endpoint,
            "endpoint_source": now.source["endpoint"],
            "profile": name,
            "notes": [line for line in lines if line.startswith("note: ")] + list(now.notes),
        }
        click.echo(json.dumps(report))
        return
    for line in lines:
        click.echo(line)
    where = f"profile {name!r}" if now.source["endpoint"] == "profile" else now.source["endpoint"]
    click.echo(f"spans go to {now.endpoint} ({where}); api key: {now.key_line()}")
    for note in now.notes:
        click.echo(f"note: {note}")
    agent = {"codex": "codex", "claude-code": "claude", "gemini": "gemini"}[target]
    click.echo(f"next: run {agent} as usual, then `staso status --target {target}`")


def _headers(given: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in given:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(
                f"{item!r} is not NAME=VALUE, e.g. x-mlflow-experiment-id=1",
                param_hint="'--header'",
            )
        out[name.strip()] = value.strip()
    return out


def interactive() -> bool:
    return sys.stdin.isatty()


def _known(name: str) -> bool:
    from staso_otel import settings as settings_mod

    return name in settings_mod.load_profiles().get("profiles", {})


def _url(value: str) -> str:
    """The wizard's endpoint check: a bad URL is said and asked again, not a traceback."""
    from staso_otel import settings as settings_mod

    try:
        settings_mod.normalize_endpoint(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    return value.strip()


def _wizard(endpoint, api_key, workspace, environment, agent_id, scope):
    from staso_otel import settings as settings_mod
    from staso_otel.targets import installers

    target = click.prompt("Agent to trace", type=click.Choice(TARGETS), default="codex")
    endpoint = click.prompt(
        "Send spans to (Staso, or any OTLP/HTTP collector URL)",
        default=endpoint or settings_mod.STASO_ENDPOINT,
        value_proc=_url,
    )
    if settings_mod.normalize_endpoint(endpoint) == settings_mod.STASO_ENDPOINT and not api_key:
        api_key = click.prompt("Staso API key", hide_input=True)
    workspace = click.prompt("Workspace", default=workspace or "default")
    environment = click.prompt("Environment", default=environment or "development")
    agent_id = click.prompt("Agent id", default=agent_id or target)
    install = installers.get(target)
    scope = click.prompt(
        "Scope", type=click.Choice(list(install.SCOPES)), default=scope or "global"
    )
    click.echo(
        f"\nWill write: {scope} {install.DISPLAY} hooks -> {endpoint} (workspace {workspace}, "
        f"environment {environment}, agent {agent_id})"
    )
    click.confirm("Write these settings?", default=True, abort=True)
    return target, endpoint, api_key, workspace, environment, agent_id, scope
