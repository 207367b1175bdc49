"""One installer for every agent whose hooks live in a settings.json. [targets]

Claude Code and Gemini CLI differ in where their settings files are, what a handler
carries, what can switch hooks off and what trust they need; those are the facts an agent
gives (`SettingsAgent`). Planning, installing, checking, syncing and the lines `staso
setup/status/sync` print are the same for both, so they are written once here, over
settings_hooks (the file edits) and install_record (what setup did).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from staso_otel.targets import binaries, hookfile, install_record, settings_hooks

InstallError = hookfile.HookFileError
Version = binaries.Version


@dataclass
class Plan:
    settings_file: Path
    scope: str
    version: Version | None
    events: tuple[str, ...]
    notes: list[str] = field(default_factory=list)


@dataclass
class Health:
    version: Version | None
    settings_file: Path
    events_installed: list[str]
    events_missing: list[str]
    problems: list[str]


def _no_notes(_data: dict[str, Any], _plan: Plan) -> list[str]:
    return []


@dataclass(frozen=True)
class SettingsAgent:
    """What one agent's installer knows of itself."""

    target: str  # `staso setup --target` name and journal folder
    display: str  # "Claude Code"
    binary: str  # the command on PATH, "claude"
    npm_package: str  # what to install when it is missing
    events: tuple[str, ...]
    scopes: tuple[str, ...]
    settings_file: Callable[[str, Path | None], Path]  # (scope, project) -> file
    timeout_for: Callable[[str], int]  # event -> the handler's timeout, in the agent's unit
    trust: Callable[[Plan], str]  # what `staso status` says about trust
    # the settings files the agent merges for a plan, and why one of them, by its own
    # settings, would keep the agent from running our hooks
    layers: Callable[[Plan], Iterable[Path]]
    switched_off: Callable[[dict[str, Any], Path], list[str]]
    matcher_for: Callable[[str], str | None] = lambda _event: None
    handler_name: str | None = None
    install_notes: Callable[[dict[str, Any], Plan], list[str]] = _no_notes
    version_timeout_s: float = 30


class SettingsInstaller:
    """The surface targets/installers.py expects (`Installer`), for a `SettingsAgent`."""

    InstallError = InstallError

    def __init__(self, agent: SettingsAgent) -> None:
        self.agent = agent
        self.DISPLAY = agent.display
        self.SCOPES = agent.scopes

    def version(self, binary: str | None = None) -> Version | None:
        """`<binary> --version` of the agent on PATH (or `binary`); None when not found."""
        return binaries.version(self.agent.binary, binary, timeout_s=self.agent.version_timeout_s)

    def hook_command(self) -> str:
        return hookfile.hook_command(self.agent.target)

    def record_path(self) -> Path:
        return install_record.path(self.agent.target)

    def load_record(self) -> dict[str, Any]:
        return install_record.load(self.agent.target)

    def files_touched(self, scope: str) -> list[Path]:
        """Every file setup for `scope` may write, so the CLI can check them all first."""
        touched = [self.agent.settings_file(scope, None).absolute(), self.record_path()]
        previous = self.load_record().get("settings_file")
        return [*touched, Path(previous)] if previous else touched

    def plan(
        self, scope: str = "global", project: Path | None = None, binary: str | None = None
    ) -> Plan:
        return Plan(
            settings_file=self.agent.settings_file(scope, project).absolute(),
            scope=scope,
            version=self.version(binary),
            events=self.agent.events,
        )

    def replan(self, record: dict[str, Any]) -> Plan:
        """The plan of an existing installation (for sync and status)."""
        scope = record.get("scope", "global")
        path = Path(record["settings_file"]) if record.get("settings_file") else None
        # both agents keep a project's file in <project>/.<agent>/
        project = path.parent.parent if path is not None and scope != "global" else None
        return self.plan(scope, project)

    def install(self, p: Plan, *, auto_sync: bool | None = None) -> Plan:
        """Write our hook entries into the scope's settings file; idempotent."""
        a = self.agent
        data, record, fields = settings_hooks.install_into(
            p.settings_file, a.target, p.events, a.timeout_for, a.matcher_for, a.handler_name
        )
        p.notes.extend(a.install_notes(data, p))
        version = _dotted(p.version)
        install_record.save(
            a.target,
            {"scope": p.scope, **fields, f"{a.binary}_version": version},
            record,
            auto_sync,
        )
        return p

    def uninstall(self) -> list[str]:
        """Remove our entries from the recorded settings file; returns what was done."""
        return settings_hooks.uninstall(self.agent.target, self.agent.settings_file("global", None))

    def check(self, p: Plan) -> Health:
        """Will the agent run our hooks? Every reason it would not, with the fix."""
        a = self.agent
        data, _ = hookfile.read(p.settings_file)
        installed = sorted(hookfile.events_with(data, a.target))
        missing = sorted(set(p.events) - set(installed))
        problems = []
        if p.version is None:
            problems.append(
                f"{a.binary} not found on PATH: install it (npm install -g {a.npm_package})"
            )
        if not installed:
            problems.append(
                f"no staso hooks in {p.settings_file}: run `staso setup --target {a.target}`"
            )
        elif missing:
            problems.append("hooks missing for " + ", ".join(missing) + ": run `staso sync`")
        for path in sorted(set(a.layers(p))):
            try:
                layer, _ = hookfile.read(path)
            except InstallError:
                continue  # unreadable: the agent would not apply it either
            problems.extend(a.switched_off(layer, path))
        return Health(p.version, p.settings_file, installed, missing, problems)

    def sync_if_needed(self) -> bool:
        """Re-install when staso or its interpreter changed since setup (auto-sync)."""
        record = self.load_record()
        if not install_record.stale(record):
            return False
        self.install(self.replan(record))
        return True

    def setup_target(
        self, scope: str, binary: str | None = None, auto_sync: bool | None = None
    ) -> list[str]:
        """Install for `scope`; the lines `staso setup` prints about it."""
        p = self.install(self.plan(scope, None, binary), auto_sync=auto_sync)
        version = _dotted(p.version) or "not found on PATH"
        lines = [f"{self.agent.binary} {version}: {len(p.events)} hook events -> {p.settings_file}"]
        return lines + [f"note: {note}" for note in p.notes]

    def status_lines(
        self, scope: str | None = None, binary: str | None = None
    ) -> tuple[list[tuple[str, str]], list[str], dict[str, Any]]:
        """(label, value) lines, problems and the same facts typed, for `staso status`."""
        record = self.load_record()
        if scope and scope != record.get("scope"):
            p = self.plan(scope, None, binary)
        else:
            p = self.replan(record)
            p.version = self.version(binary)
        try:
            health = self.check(p)
        except InstallError as exc:
            return [], [str(exc)], {"hooks_file": str(p.settings_file), "error": str(exc)}
        version = _dotted(health.version)
        lines = [
            (self.agent.binary, version or "not found"),
            ("hooks", f"{len(health.events_installed)} events in {p.settings_file}"),
        ]
        if health.events_installed:
            lines.append(("trust", self.agent.trust(p)))
        fields = {
            "version": version,
            "hooks_file": str(p.settings_file),
            "events": list(p.events),
            "events_installed": health.events_installed,
            "events_missing": health.events_missing,
        }
        return lines, health.problems, fields

    def resync(self, auto_sync: bool | None = None) -> str | None:
        """Rewrite our entries where setup put them; None when not set up."""
        record = self.load_record()
        if not record:
            return None
        p = self.install(self.replan(record), auto_sync=auto_sync)
        return f"synced {len(p.events)} {self.agent.display} hook events in {p.settings_file}"


def _dotted(version: Version | None) -> str | None:
    return ".".join(map(str, version)) if version else None
