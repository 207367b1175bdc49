"""Install, check and remove staso's Gemini CLI hooks in a settings.json. [targets/gemini]

Gemini CLI reads hooks from the `hooks` key of its settings files, merged over layers:
- global:  ~/.gemini/settings.json (the home is $GEMINI_CLI_HOME when set, as the CLI has it)
- project: <project>/.gemini/settings.json (checked in; runs only in a trusted folder,
  and the CLI warns once per changed hook before running it)
Hooks are on unless `hooksConfig.enabled` is false; a handler named in
`hooksConfig.disabled` is skipped. Each handler's timeout is in milliseconds.

Only our handlers are touched (`hookfile.is_ours`); every other key of the user's settings
is kept, in order, with its indent. What setup did (which file, whether it created the
file or the `hooks` key) is recorded in STASO_HOME/install/gemini.json, so uninstall
leaves the file as it found it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from staso_otel.targets import binaries, hookfile, install_record, settings_hooks
from staso_otel.targets.gemini import events

TARGET = "gemini"
EVENTS = events.ALL
SCOPES = ("global", "project")
HANDLER_NAME = "staso"  # what /hooks shows, and what hooksConfig.disabled would name
HOOK_TIMEOUT_MS = 30_000

InstallError = hookfile.HookFileError
Version = binaries.Version


def gemini_home() -> Path:
    """The folder holding `.gemini`: GEMINI_CLI_HOME, as Gemini CLI itself honours it."""
    value = os.environ.get("GEMINI_CLI_HOME")
    return Path(value).expanduser() if value else Path.home()


def settings_file(scope: str, project: Path | None = None) -> Path:
    if scope not in SCOPES:
        raise InstallError(f"unknown scope {scope!r}; use one of {', '.join(SCOPES)}")
    if scope == "global":
        return gemini_home() / ".gemini" / "settings.json"
    return (project or Path.cwd()).resolve() / ".gemini" / "settings.json"


def gemini_version(binary: str | None = None) -> Version | None:
    """`gemini --version` of the Gemini CLI on PATH (or `binary`); None when not found."""
    return binaries.version("gemini", binary, timeout_s=60)


def hook_command() -> str:
    return hookfile.hook_command(TARGET)


def _timeout(_event: str) -> int:
    return HOOK_TIMEOUT_MS


# -- the install record --------------------------------------------------------------------
def record_path() -> Path:
    return install_record.path(TARGET)


def load_record() -> dict[str, Any]:
    return install_record.load(TARGET)


def files_touched(scope: str) -> list[Path]:
    """Every file setup for `scope` may write, so the CLI can check them all first."""
    touched = [settings_file(scope).absolute(), record_path()]
    previous = load_record().get("settings_file")
    return [*touched, Path(previous)] if previous else touched


@dataclass
class Plan:
    settings_file: Path
    scope: str
    version: Version | None
    events: tuple[str, ...] = EVENTS
    notes: list[str] = field(default_factory=list)


def plan(scope: str = "global", project: Path | None = None, gemini_bin: str | None = None) -> Plan:
    return Plan(
        settings_file=settings_file(scope, project).absolute(),
        scope=scope,
        version=gemini_version(gemini_bin),
    )


def install(p: Plan, *, auto_sync: bool | None = None) -> Plan:
    """Write our hook entries into the scope's settings file; idempotent."""
    data, record, fields = settings_hooks.install_into(
        p.settings_file, TARGET, p.events, _timeout, name=HANDLER_NAME
    )
    p.notes.extend(_switched_off(data, p.settings_file))
    if p.scope == "project":
        p.notes.append(
            "project hooks run only in a trusted folder; Gemini CLI warns once before the first run"
        )
    version = ".".join(map(str, p.version)) if p.version else None
    install_record.save(
        TARGET, {"scope": p.scope, **fields, "gemini_version": version}, record, auto_sync
    )
    return p


def _switched_off(data: dict[str, Any], path: Path) -> list[str]:
    """Why the CLI would skip our hooks by this file's own settings."""
    config = data.get("hooksConfig")
    config = config if isinstance(config, dict) else {}
    out = []
    if config.get("enabled") is False:
        out.append(f"{path} sets hooksConfig.enabled: false; no hook runs until it is true")
    disabled = config.get("disabled")
    if isinstance(disabled, list) and {HANDLER_NAME, hook_command()} & set(map(str, disabled)):
        out.append(f"{path} lists staso's hook in hooksConfig.disabled; remove it")
    return out


def uninstall() -> list[str]:
    """Remove our entries from the recorded settings file; returns what was done."""
    return settings_hooks.uninstall(TARGET, settings_file("global"))


@dataclass
class Health:
    version: Version | None
    settings_file: Path
    events_installed: list[str]
    events_missing: list[str]
    problems: list[str]


def check(p: Plan) -> Health:
    """Will Gemini CLI run our hooks? Every reason it would not, with the fix."""
    data, _ = hookfile.read(p.settings_file)
    installed = sorted(hookfile.events_with(data, TARGET))
    missing = sorted(set(p.events) - set(installed))
    problems = []
    if p.version is None:
        problems.append("gemini not found on PATH: install it (npm install -g @google/gemini-cli)")
    if not installed:
        problems.append(f"no staso hooks in {p.settings_file}: run `staso setup --target gemini`")
    elif missing:
        problems.append("hooks missing for " + ", ".join(missing) + ": run `staso sync`")
    files = {settings_file("global"), p.settings_file}
    for path in sorted(files):
        try:
            other, _ = hookfile.read(path)
        except InstallError:
            continue
        problems.extend(_switched_off(other, path))
    return Health(p.version, p.settings_file, installed, missing, problems)


def sync_if_needed() -> bool:
    """Re-install when staso or its interpreter changed since setup (auto-sync)."""
    record = load_record()
    if not install_record.stale(record):
        return False
    install(replan(record))
    return True


def replan(record: dict[str, Any]) -> Plan:
    """The plan of an existing installation (for sync and status)."""
    scope = record.get("scope", "global")
    path = Path(record["settings_file"]) if record.get("settings_file") else None
    project = path.parent.parent if path is not None and scope != "global" else None
    return plan(scope, project)


# -- the surface every target's installer offers the CLI (targets/installers.py) ----------
DISPLAY = "Gemini CLI"


def setup_target(scope: str, binary: str | None = None, auto_sync: bool | None = None) -> list[str]:
    """Install for `scope`; the lines `staso setup` prints about it."""
    p = install(plan(scope, None, binary), auto_sync=auto_sync)
    version = ".".join(map(str, p.version)) if p.version else "not found on PATH"
    lines = [f"gemini {version}: {len(p.events)} hook events -> {p.settings_file}"]
    return lines + [f"note: {note}" for note in p.notes]


def status_lines(
    scope: str | None = None, binary: str | None = None
) -> tuple[list[tuple[str, str]], list[str], dict[str, Any]]:
    """(label, value) lines, problems and the same facts typed, for `staso status`."""
    record = load_record()
    if scope and scope != record.get("scope"):
        p = plan(scope, None, binary)
    else:
        p = replan(record)
        p.version = gemini_version(binary)
    try:
        health = check(p)
    except InstallError as exc:
        return [], [str(exc)], {"hooks_file": str(p.settings_file), "error": str(exc)}
    version = ".".join(map(str, health.version)) if health.version else None
    lines = [
        ("gemini", version or "not found"),
        ("hooks", f"{len(health.events_installed)} events in {p.settings_file}"),
    ]
    if health.events_installed:
        trust = "user hooks: none needed" if p.scope == "global" else "a trusted folder"
        lines.append(("trust", f"{trust} (headless runs in an untrusted folder need --skip-trust)"))
    fields = {
        "version": version,
        "hooks_file": str(p.settings_file),
        "events": list(p.events),
        "events_installed": health.events_installed,
        "events_missing": health.events_missing,
    }
    return lines, health.problems, fields


def resync(auto_sync: bool | None = None) -> str | None:
    """Rewrite our entries where setup put them; None when not set up."""
    record = load_record()
    if not record:
        return None
    p = install(replan(record), auto_sync=auto_sync)
    return f"synced {len(p.events)} Gemini CLI hook events in {p.settings_file}"
