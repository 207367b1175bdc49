"""What `staso setup` did for one agent, kept in STASO_HOME/install/<target>.json.

Uninstall undoes exactly what is recorded there; sync and auto-sync re-install where it
says. Every target's record carries the staso version and interpreter that wrote the
hook entries, so auto-sync can tell when they are stale.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from staso_otel import __version__, paths
from staso_otel.targets import hookfile


def path(target: str) -> Path:
    return paths.install_dir() / f"{target}.json"


def load(target: str) -> dict[str, Any]:
    try:
        data = json.loads(path(target).read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def save(
    target: str, fields: dict[str, Any], previous: dict[str, Any], auto_sync: bool | None
) -> None:
    """Write the record: `fields`, who wrote the entries, and auto-sync (kept from
    `previous` unless given)."""
    record = {
        **fields,
        "staso_version": __version__,
        "interpreter": sys.executable,
        "hook_script": str(hookfile.hook_script()),
    }
    if auto_sync is not None:
        record["auto_sync"] = auto_sync
    elif "auto_sync" in previous:
        record["auto_sync"] = previous["auto_sync"]
    paths.atomic_write(path(target), json.dumps(record, indent=2).encode())


def stale(record: dict[str, Any]) -> bool:
    """Auto-sync is on and the entries were written by another staso, interpreter or hook
    script (a record without one predates the script entry point: its entries use `-m`)."""
    if not record or not record.get("auto_sync"):
        return False
    return (
        record.get("staso_version") != __version__
        or record.get("interpreter") != sys.executable
        or record.get("hook_script") != str(hookfile.hook_script())
    )
