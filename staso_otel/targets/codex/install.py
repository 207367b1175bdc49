"""Install, check and remove staso's Codex hooks: hooks.json entries, trust, feature flag.

Only what is ours is touched. Our hook handlers are recognised by how the command ends
(`hookfile.is_ours`: the hook script, or an earlier release's `-m staso_otel.hook`, then
`codex`); everything else in hooks.json is kept in
order, and config.toml is edited with tomlkit so comments and formatting survive. What
setup changed (trust keys, the feature flag and its previous value, files it created) is
recorded in STASO_HOME/install/codex.json, so uninstall undoes exactly that.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import TOMLKitError

from staso_otel import paths
from staso_otel.targets import binaries, hookfile, install_record
from staso_otel.targets.codex import trust

TARGET = "codex"
ALL_EVENTS = (
    "SessionStart",
    "UserPromptSubmit",
    "PreModelRequest",
    "PostModelRequest",
    "PreToolUse",
    "PermissionRequest",
    "PostToolUse",
    "PreCompact",
    "PostCompact",
    "SubagentStart",
    "SubagentStop",
    "Stop",
    "Interrupt",
    "SessionEnd",
)
LEGACY_EVENTS = ("SessionStart", "UserPromptSubmit", "PreToolUse", "PostToolUse", "Stop")
HOOK_TIMEOUT_S = 30
SHORT_TIMEOUT_S = 3  # Codex clamps SessionEnd and Interrupt to 3 s


class InstallError(RuntimeError):
    """A file we must edit is broken or unwritable: one line saying which and why."""


Version = binaries.Version


def codex_version(binary: str | None = None) -> Version | None:
    """`codex --version` of the Codex on PATH (or `binary`); None when not found."""
    return binaries.version("codex", binary, timeout_s=20)


def events_for(version: Version | None) -> tuple[str, ...]:
    """Releases before 0.135 fire the five classic events; later ones more. Codex ignores
    names it does not know, so an unknown version gets all fourteen."""
    if version is not None and version < (0, 135, 0):
        return LEGACY_EVENTS
    return ALL_EVENTS


def flag_name(version: Version | None) -> str:
    return "codex_hooks" if version is not None and version < (0, 129, 0) else "hooks"


def hook_command() -> str:
    return hookfile.hook_command(TARGET)


def is_ours(handler: Any) -> bool:
    return hookfile.is_ours(handler, TARGET)


def timeout_for(event: str) -> int:
    return SHORT_TIMEOUT_S if event in trust.SHORT_EVENTS else HOOK_TIMEOUT_S


# -- files -------------------------------------------------------------------------------
_write_user_file = hookfile.write_user_file


def read_hooks_file(path: Path) -> tuple[dict[str, Any], str | None]:
    """(data, original text or None when absent); a broken file raises InstallError."""
    try:
        return hookfile.read(path)
    except hookfile.HookFileError as exc:
        raise InstallError(str(exc)) from None


def read_config(path: Path) -> tuple[tomlkit.TOMLDocument, str | None]:
    if not path.exists():
        return tomlkit.document(), None
    text = path.read_text(encoding="utf-8")
    try:
        return tomlkit.parse(text), text
    except TOMLKitError as exc:
        raise InstallError(f"{path} is not valid TOML ({exc}); fix it, then re-run") from None


# -- hooks.json ----------------------------------------------------------------------------
def strip_ours(data: dict[str, Any], created: list[str] | None = None) -> bool:
    """Remove our handlers (and groups/events left empty by that); True if any removed."""
    return hookfile.strip(data, TARGET, created)


def add_ours(data: dict[str, Any], events: tuple[str, ...], command: str) -> None:
    hookfile.add(data, events, command, timeout_for)


def our_entries(data: dict[str, Any], source: Path) -> dict[str, str]:
    """trust key -> trust hash for every handler of ours, at its position in the file."""
    out = {}
    for event, groups in (data.get("hooks") or {}).items():
        for gi, group in enumerate(groups if isinstance(groups, list) else []):
            for hi, handler in enumerate(
                group.get("hooks") or [] if isinstance(group, dict) else []
            ):
                if is_ours(handler):
                    key = trust.trust_key(str(source), event, gi, hi)
                    out[key] = trust.trust_hash(event, group, handler)
    return out


# -- config.toml ---------------------------------------------------------------------------
def _state_table(doc: tomlkit.TOMLDocument, create: bool) -> Any:
    hooks = doc.get("hooks")
    if hooks is None:
        if not create:
            return None
        hooks = tomlkit.table(is_super_table=True)
        doc["hooks"] = hooks
    state = hooks.get("state")
    if state is None:
        if not create:
            return None
        state = tomlkit.table(is_super_table=True)
        hooks["state"] = state
    return state


def trusted_hashes(doc: tomlkit.TOMLDocument) -> dict[str, str]:
    state = _state_table(doc, create=False) or {}
    return {
        str(k): str(v.get("trusted_hash"))
        for k, v in state.items()
        if hasattr(v, "get") and v.get("trusted_hash")
    }


def set_trust(doc: tomlkit.TOMLDocument, remove: list[str], add: dict[str, str]) -> None:
    state = _state_table(doc, create=bool(add))
    if state is not None:
        for key in remove:
            if key in state and key not in add:
                del state[key]
        for key, value in add.items():
            existing = state.get(key)
            if existing is not None and existing.get("trusted_hash") == value:
                continue  # unchanged: rewriting it would reshuffle the file's blank lines
            entry = tomlkit.table()
            entry["trusted_hash"] = value
            state[key] = entry
    _drop_empty_hooks_tables(doc)


def _drop_empty_hooks_tables(doc: tomlkit.TOMLDocument) -> None:
    hooks = doc.get("hooks")
    if hooks is None:
        return
    if "state" in hooks and len(hooks["state"]) == 0:
        del hooks["state"]
    if len(hooks) == 0:
        del doc["hooks"]


def flag_value(doc: tomlkit.TOMLDocument, name: str) -> bool | None:
    features = doc.get("features")
    return None if features is None or name not in features else bool(features[name])


def set_flag(doc: tomlkit.TOMLDocument, name: str, value: bool | None) -> None:
    features = doc.get("features")
    if value is None:
        if features is not None and name in features:
            del features[name]
            if len(features) == 0:
                del doc["features"]
        return
    if features is None:
        features = tomlkit.table()
        doc["features"] = features
    features[name] = value


def project_trusted(doc: tomlkit.TOMLDocument, project: Path) -> bool:
    projects = doc.get("projects") or {}
    entry = projects.get(str(project))
    return bool(entry) and entry.get("trust_level") == "trusted"


# -- the install record --------------------------------------------------------------------
def record_path() -> Path:
    return install_record.path("codex")


def load_record() -> dict[str, Any]:
    return install_record.load("codex")


@dataclass
class Plan:
    hooks_file: Path
    config_file: Path
    scope: str
    version: Version | None
    events: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)


def hooks_file_for(scope: str, project: Path | None = None) -> Path:
    if scope == "project":
        return ((project or Path.cwd()).resolve() / ".codex" / "hooks.json").absolute()
    return (paths.codex_home() / "hooks.json").absolute()


def files_touched(scope: str) -> list[Path]:
    """Every file setup for `scope` may write, so the CLI can check them all first."""
    touched = [hooks_file_for(scope), paths.codex_home() / "config.toml", record_path()]
    previous = load_record().get("hooks_file")
    return [*touched, Path(previous)] if previous else touched


def plan(scope: str = "global", project: Path | None = None, codex_bin: str | None = None) -> Plan:
    version = codex_version(codex_bin)
    return Plan(
        hooks_file=hooks_file_for(scope, project),
        config_file=paths.codex_home() / "config.toml",
        scope=scope,
        version=version,
        events=events_for(version),
    )


def install(p: Plan, *, auto_sync: bool | None = None) -> Plan:
    """Write our hook entries, their trust and the feature flag; idempotent."""
    data, hooks_text = read_hooks_file(p.hooks_file)
    doc, config_text = read_config(p.config_file)  # read both before writing either
    record = load_record()
    previous_keys = list(record.get("trust_keys", []))
    same_file = record.get("hooks_file") == str(p.hooks_file)
    if record.get("hooks_file") and not same_file:
        _remove_from_hooks_file(Path(record["hooks_file"]), record)
    # uninstall takes out a `hooks` key setup added, so the file is as it was
    had_hooks_key = record.get("had_hooks_key", True) if same_file else "hooks" in data

    created_before = record.get("events_created") if same_file else None
    strip_ours(data, created_before)
    events_created = hookfile.created_events(data, p.events, created_before)
    add_ours(data, p.events, hook_command())
    new_text = hookfile.dumps(data, hooks_text)
    if new_text != hooks_text:
        p.hooks_file.parent.mkdir(parents=True, exist_ok=True)
        _write_user_file(p.hooks_file, new_text)

    entries = our_entries(data, p.hooks_file)
    set_trust(doc, previous_keys, entries)
    flag = flag_name(p.version)
    flag_record = record.get("flag") or {
        "name": flag,
        "previous": flag_value(doc, flag),
        "set_by_staso": flag_value(doc, flag) is not True,
    }
    if flag_value(doc, flag) is not True:
        set_flag(doc, flag, True)
    new_config = tomlkit.dumps(doc)
    if new_config != (config_text or ""):
        _write_user_file(p.config_file, new_config)

    if p.scope == "project" and not project_trusted(doc, p.hooks_file.parent.parent):
        p.notes.append(
            f"Codex loads {p.hooks_file} only for a trusted project: trust "
            f"{p.hooks_file.parent.parent} in Codex (or use --scope global)"
        )
    new_record = {
        "scope": p.scope,
        "hooks_file": str(p.hooks_file),
        "created_hooks_file": record.get("created_hooks_file", hooks_text is None),
        "had_hooks_key": had_hooks_key,
        "events_created": events_created,
        "config_file": str(p.config_file),
        "created_config_file": record.get("created_config_file", config_text is None),
        # tomlkit leaves a blank line where it inserted our tables; uninstall restores the
        # file's own ending so a config with nothing of ours left is byte-identical
        "config_trailer": record.get(
            "config_trailer", _trailer(config_text) if config_text else "\n"
        ),
        "trust_keys": sorted(entries),
        "flag": flag_record,
        "events": list(p.events),
        "codex_version": ".".join(map(str, p.version)) if p.version else None,
    }
    install_record.save("codex", new_record, record, auto_sync)
    return p


def _trailer(text: str) -> str:
    return text[len(text.rstrip()) :]


def _remove_from_hooks_file(
    path: Path, record: dict[str, Any], *, delete_if_empty: bool = False
) -> None:
    data, text = read_hooks_file(path)
    if text is None or not strip_ours(data, record.get("events_created")):
        return
    if data.get("hooks") == {} and not record.get("had_hooks_key", True):
        del data["hooks"]
    if delete_if_empty and not data.get("hooks") and set(data) <= {"hooks"}:
        path.unlink()
        return
    _write_user_file(path, hookfile.dumps(data, text))


def uninstall() -> list[str]:
    """Remove our entries, our trust keys and our flag change; returns what was done."""
    record = load_record()
    done = []
    home = paths.codex_home()
    hooks_file = Path(record.get("hooks_file") or home / "hooks.json")
    config_file = Path(record.get("config_file") or home / "config.toml")
    data, text = read_hooks_file(hooks_file)
    doc, config_text = read_config(config_file)
    if text is not None and strip_ours(data):
        _remove_from_hooks_file(
            hooks_file, record, delete_if_empty=bool(record.get("created_hooks_file"))
        )
        done.append(f"removed staso's hook entries from {hooks_file}")
    # Only keys setup recorded: never guess about trust entries someone else wrote.
    set_trust(doc, list(record.get("trust_keys") or []), {})
    flag = record.get("flag") or {}
    if flag.get("set_by_staso"):
        set_flag(doc, flag["name"], flag.get("previous"))
        done.append(f"restored [features] {flag['name']} in {config_file}")
    new_config = tomlkit.dumps(doc)
    if new_config.strip():
        new_config = new_config.rstrip() + record.get("config_trailer", "\n")
    if config_text is not None and new_config != config_text:
        if record.get("created_config_file") and not new_config.strip():
            config_file.unlink()
        else:
            _write_user_file(config_file, new_config)
        done.append(f"removed staso's trust entries from {config_file}")
    record_path().unlink(missing_ok=True)
    return done


@dataclass
class Health:
    version: Version | None
    hooks_file: Path
    events_installed: list[str]
    events_missing: list[str]
    untrusted: list[str]
    flag: str
    flag_on: bool
    problems: list[str]


def check(p: Plan) -> Health:
    """Will Codex run our hooks? Every reason it would not, with the fix."""
    data, _ = read_hooks_file(p.hooks_file)
    doc, _ = read_config(p.config_file)
    entries = our_entries(data, p.hooks_file)
    installed = sorted({k.split(":")[-3] for k in entries})
    wanted = {trust.snake(e) for e in p.events}
    trusted = trusted_hashes(doc)
    untrusted = [k for k, h in entries.items() if trusted.get(k) != h]
    flag = flag_name(p.version)
    value = flag_value(doc, flag)
    # Hooks are on by default from 0.125 on; off only when the flag says false.
    flag_on = value is not False
    problems = []
    if p.version is None:
        problems.append("codex not found on PATH: install it (npm install -g @openai/codex)")
    if not entries:
        problems.append(f"no staso hooks in {p.hooks_file}: run `staso setup --target codex`")
    elif sorted(wanted - set(installed)):
        problems.append(
            "hooks missing for " + ", ".join(sorted(wanted - set(installed))) + ": run `staso sync`"
        )
    if untrusted:
        problems.append(
            f"{len(untrusted)} staso hooks are not trusted by Codex (it skips them "
            "silently): run `staso sync`"
        )
    if not flag_on:
        problems.append(f"[features] {flag} = false in {p.config_file}: run `staso sync`")
    return Health(
        p.version,
        p.hooks_file,
        installed,
        sorted(wanted - set(installed)),
        untrusted,
        flag,
        flag_on,
        problems,
    )


def sync_if_needed() -> bool:
    """Re-install when staso or its interpreter changed since setup (auto-sync): cheap
    when nothing changed (one small JSON read). Returns True if it re-installed."""
    record = load_record()
    if not install_record.stale(record):
        return False
    p = plan(
        record.get("scope", "global"),
        Path(record["hooks_file"]).parent.parent if record.get("scope") == "project" else None,
    )
    install(p)
    return True


# -- the surface every target's installer offers the CLI (targets/installers.py) ----------
DISPLAY = "Codex"
SCOPES = ("global", "project")


def setup_target(scope: str, binary: str | None = None, auto_sync: bool | None = None) -> list[str]:
    """Install for `scope`; the lines `staso setup` prints about it."""
    p = install(plan(scope, codex_bin=binary), auto_sync=auto_sync)
    version = ".".join(map(str, p.version)) if p.version else "not found on PATH"
    lines = [
        f"codex {version}: {len(p.events)} hook events -> {p.hooks_file}",
        f"trusted in {p.config_file}",
    ]
    return lines + [f"note: {note}" for note in p.notes]


def _installed_plan(scope: str | None, binary: str | None) -> Plan:
    record = load_record()
    scope = scope or record.get("scope") or "global"
    project = (
        Path(record["hooks_file"]).parent.parent
        if scope == "project" and record.get("hooks_file")
        else None
    )
    return plan(scope, project, binary)


def status_lines(
    scope: str | None = None, binary: str | None = None
) -> tuple[list[tuple[str, str]], list[str], dict[str, Any]]:
    """(label, value) lines, problems and the same facts typed, for `staso status`."""
    p = _installed_plan(scope, binary)
    try:
        health = check(p)
    except InstallError as exc:
        return [], [str(exc)], {"hooks_file": str(p.hooks_file), "error": str(exc)}
    version = ".".join(map(str, health.version)) if health.version else None
    lines = [
        ("codex", version or "not found"),
        ("hooks", f"{len(health.events_installed)} events in {p.hooks_file}"),
    ]
    if health.events_installed:  # trust and flag say nothing when no hook of ours is there
        trusted = "all trusted" if not health.untrusted else f"{len(health.untrusted)} untrusted"
        lines.append(("trust", trusted))
        lines.append((f"flag {health.flag}", "on" if health.flag_on else "off"))
    fields = {
        "version": version,
        "hooks_file": str(p.hooks_file),
        "events": list(p.events),
        "events_installed": health.events_installed,
        "events_missing": health.events_missing,
        "untrusted": len(health.untrusted),
        "flag": health.flag,
        "flag_on": health.flag_on,
    }
    return lines, health.problems, fields


def resync(auto_sync: bool | None = None) -> str | None:
    """Rewrite our entries where setup put them; None when not set up."""
    record = load_record()
    if not record:
        return None
    p = install(_installed_plan(None, None), auto_sync=auto_sync)
    return f"synced {len(p.events)} Codex hook events in {p.hooks_file}"
