"""staso's hook entries in an agent's settings.json: write, remove, remember. [targets]

Claude Code and Gemini CLI both read hooks from the `hooks` key of a settings.json of
their own (hookfile's shape) with every other key the user's; their installers differ in
where the file is, what each handler carries and what can switch hooks off, and share
this: our groups in, the user's file otherwise as it was (hookfile), and what setup did
(which file, whether it created the file, the `hooks` key or an event's key) recorded in
STASO_HOME/install/<target>.json, so uninstall leaves the file byte for byte as it found it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from staso_otel.targets import hookfile, install_record


def install_into(
    path: Path,
    target: str,
    events: tuple[str, ...],
    timeout_for: Callable[[str], int],
    matcher_for: Callable[[str], str | None] = lambda _event: None,
    name: str | None = None,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Our entries into `path` (from a file recorded earlier, if another, out first);
    idempotent. (the file's data now, the previous record, the record's file fields)."""
    data, text = hookfile.read(path)
    record = install_record.load(target)
    if record.get("settings_file") and record["settings_file"] != str(path):
        remove_from(Path(record["settings_file"]), target, record)
        record = {}
    had_hooks_key = record.get("had_hooks_key", "hooks" in data)
    created_before = record.get("events_created")
    hookfile.strip(data, target, created_before)
    events_created = hookfile.created_events(data, events, created_before)
    hookfile.add(data, events, hookfile.hook_command(target), timeout_for, matcher_for, name)
    new_text = hookfile.dumps(data, text)
    if new_text != text:
        hookfile.write_user_file(path, new_text)
    fields = {
        "settings_file": str(path),
        "created_file": record.get("created_file", text is None),
        "had_hooks_key": had_hooks_key,
        "events_created": events_created,
        "events": list(events),
    }
    return data, record, fields


def remove_from(path: Path, target: str, record: dict[str, Any]) -> bool:
    """Our entries out of `path`, and what setup added with them; True if any were there."""
    data, text = hookfile.read(path)
    if text is None or not hookfile.strip(data, target, record.get("events_created")):
        return False
    if data.get("hooks") == {} and not record.get("had_hooks_key", True):
        del data["hooks"]
    if record.get("created_file") and not data:
        path.unlink()
        return True
    hookfile.write_user_file(path, hookfile.dumps(data, text))
    return True


def uninstall(target: str, default: Path) -> list[str]:
    """Remove our entries from the recorded settings file (else `default`); what was done."""
    record = install_record.load(target)
    path = Path(record.get("settings_file") or default)
    done = []
    if remove_from(path, target, record):
        done.append(f"removed staso's hook entries from {path}")
    install_record.path(target).unlink(missing_ok=True)
    return done
