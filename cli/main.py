"""The click group: global options, version, and commands loaded on demand."""

from __future__ import annotations

import importlib

import click

from staso_otel import __version__

# command name -> module under staso_cli.commands; each module defines `command`.
COMMANDS = {
    "setup": "setup",
    "status": "status",
    "sync": "sync",
    "update": "update",
    "uninstall": "uninstall",
    "flush": "flush",
    "collector": "collector",
    "traces": "traces",
    "demo": "demo",
    "hook": "hook",
    "import": "import_sessions",
}


class LazyGroup(click.Group):
    """Imports a command's module only when that command runs (or help lists it)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name in COMMANDS if self._load(name) is not None]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return self._load(name)

    @staticmethod
    def _load(name: str) -> click.Command | None:
        module = COMMANDS.get(name)
        if module is None:
            return None
        try:
            return importlib.import_module(f"staso_cli.commands.{module}").command
        except ModuleNotFoundError as exc:
            if exc.name == f"staso_cli.commands.{module}":
                return None
            raise


@click.group(
    cls=LazyGroup,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, prog_name="staso")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Trace coding-agent sessions (Codex CLI, Claude Code) as OpenTelemetry spans.

    \b
    Get started:
      staso demo                                  # see a recorded Codex session, offline
      staso setup --target codex --api-key KEY    # trace every Codex session from now on
      staso setup --target codex --endpoint http://localhost:4318   # any OTLP collector
      staso status --target codex                 # will Codex actually run the hooks?
    """
    if ctx.invoked_subcommand is None:  # bare `staso`: the help, and success
        click.echo(ctx.get_help())
