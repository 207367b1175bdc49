"""Install, check and remove staso's Claude Code hooks in a settings.json. [targets/claude_code]

Claude Code reads hooks from the `hooks` key of its settings files, with no trust step:
- global:  $CLAUDE_CONFIG_DIR/settings.json (default ~/.claude/settings.json)
- project: <project>/.claude/settings.json (checked in, shared with the team)
- local:   <project>/.claude/settings.local.json (this machine only, git-ignored)

Only our handlers are touched (`hookfile.is_ours`: the command ends with the hook script,
or an earlier release's `-m staso_otel.hook`, then `claude-code`);
every other key of the user's settings is kept, in order, with its indent. What setup did
(which file, whether it created the file or the `hooks` key) is recorded in
STASO_HOME/install/claude-code.json, so uninstall leaves the file as it found it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from staso_otel.targets import binaries, hookfile, install_record, settings_hooks
from staso_otel.targets.claude_code import events

TARGET = "claude-code"
EVENTS = events.ALL
SCOPES = ("global", "project", "local")
HOOK_TIMEOUT_S = 30
TOOL_EVENTS = frozenset(
    {
        events.PRE_TOOL_USE,
        events.PERMISSION_REQUEST,
        events.PERMISSION_DENIED,
        events.POST_TOOL_USE,
        events.POST_TOOL_USE_FAILURE,
    }
)

InstallError = hookfile.HookFileError
Version = binaries.Version


def config_dir() -> Path:
    """Claude Code's own folder: CLAUDE_CONFIG_DIR, as Claude Code itself honours it."""
    value = os.environ.get("CLAUDE_CONFIG_DIR")
    return Path(value).expanduser() if value else Path.home() / ".claude"


def settings_file(scope: str, project: Path | None = None) -> Path:
    if scope not in SCOPES:
        raise InstallError(f"unknown scope {scope!r}; use one of {', '.join(SCOPES)}")
    if scope == "global":
        return config_dir() / "settings.json"
    folder = (project or Path.cwd()).resolve() / ".claude"
    return folder / ("settings.json" if scope == "project" else "settings.local.json")


def claude_version(binary: str | None = None) -> Version | None:
    """`claude --version` of the Claude Code on PATH (or `binary`); None when not found."""
    return binaries.version("claude", binary, timeout_s=30)


def hook_command() -> str:
    return hookfile.hook_command(TARGET)


def _matcher(event: str) -> str | None:
    return "*" if event in TOOL_EVENTS else None


def _timeout(_event: str) -> int:
    return HOOK_TIMEOUT_S


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


def plan(scope: str = "global", project: Path | None = None, claude_bin: str | None = None) -> Plan:
    return Plan(
        settings_file=settings_file(scope, project).absolute(),
        scope=scope,
        version=claude_version(claude_bin),
    )


def install(p: Plan, *, auto_sync: bool | None = None) -> Plan:
    """Write our hook entries into the scope's settings file; idempotent."""
    data, record, fields = settings_hooks.install_into(
        p.settings_file, TARGET, p.events, _timeout, _matcher
    )
    if data.get("disableAllHooks") is True:
        p.notes.append(f"{p.settings_file} sets disableAllHooks: no hook runs until it is removed")
    if p.scope == "local":
        p.notes.append("settings.local.json is for this machine only; keep it out of git")
    version = ".".join(map(str, p.version)) if p.version else None
    install_record.save(
        TARGET, {"scope": p.scope, **fields, "claude_version": version}, record, auto_sync
    )
    return p


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


def _hooks_disabled_in(p: Plan) -> list[Path]:
    """Settings files that switch every hook off (any scope wins over ours)."""
    project = p.settings_file.parent.parent if p.scope != "global" else Path.cwd()
    candidates = {settings_file("global"), settings_file("project", project)}
    candidates.add(settings_file("local", project))
    out = []
    for path in sorted(candidates):
        try:
            data, _ = hookfile.read(path)
        except InstallError:
            continue
        if data.get("disableAllHooks") is True:
            out.append(path)
    return out


def check(p: Plan) -> Health:
    """Will Claude Code run our hooks? Every reason it would not, with the fix."""
    data, _ = hookfile.read(p.settings_file)
    installed = sorted(hookfile.events_with(data, TARGET))
    missing = sorted(set(p.events) - set(installed))
    problems = []
    if p.version is None:
        problems.append(
            "claude not found on PATH: install it (npm install -g @anthropic-ai/claude-code)"
        )
    if not installed:
        problems.append(
            f"no staso hooks in {p.settings_file}: run `staso setup --target claude-code`"
        )
    elif missing:
        problems.append("hooks missing for " + ", ".join(missing) + ": run `staso sync`")
    for path in _hooks_disabled_in(p):
        problems.append(f"{path} sets disableAllHooks: true; remove it or Claude Code runs none")
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
DISPLAY = "Claude Code"


def setup_target(scope: str, binary: str | None = None, auto_sync: bool | None = None) -> list[str]:
    """Install for `scope`; the lines `staso setup` prints about it."""
    p = install(plan(scope, None, binary), auto_sync=auto_sync)
    version = ".".join(map(str, p.version)) if p.version else "not found on PATH"
    lines = [f"claude {version}: {len(p.events)} hook events -> {p.settings_file}"]
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
        p.version = claude_version(binary)
    try:
        health = check(p)
    except InstallError as exc:
        return [], [str(exc)], {"hooks_file": str(p.settings_file), "error": str(exc)}
    version = ".".join(map(str, health.version)) if health.version else None
    lines = [
        ("claude", version or "not found"),
        ("hooks", f"{len(health.events_installed)} events in {p.settings_file}"),
    ]
    if health.events_installed:
        lines.append(("trust", "not needed (Claude Code runs settings hooks as written)"))
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
    return f"synced {len(p.events)} Claude Code hook events in {p.settings_file}"
