"""Codex's hook trust hash, reproduced: untrusted hooks are skipped silently since 0.130.

identity = {"event_name": <snake_case event>, "matcher": <only if set>, "hooks": [<handler
with its effective timeout and async flag>]}; hash = "sha256:" + sha256 of the canonical
JSON (keys sorted, no whitespace, UTF-8 unescaped). Key = "<abs source file>:<event>:
<group index>:<handler index>". See docs/codex-hooks.md §2.5 (checked against
`codex app-server` hooks/list in tests).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

DEFAULT_TIMEOUT_S = 600
SHORT_EVENTS = {"SessionEnd": (1, 3), "Interrupt": (1, 3)}  # (default, clamp)


def snake(event: str) -> str:
    """PreToolUse -> pre_tool_use."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", event).lower()


def effective_timeout(event: str, handler: Mapping[str, Any]) -> int:
    given = handler.get("timeout")
    if event in SHORT_EVENTS:
        default, clamp = SHORT_EVENTS[event]
        return min(int(given) if given is not None else default, clamp)
    return int(given) if given is not None else DEFAULT_TIMEOUT_S


def handler_identity(event: str, handler: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": handler.get("type", "command"),
        "command": handler.get("command", ""),
        "timeout": effective_timeout(event, handler),
        "async": bool(handler.get("async", False)),
    }
    if handler.get("statusMessage"):
        out["statusMessage"] = handler["statusMessage"]
    return out


def trust_hash(event: str, group: Mapping[str, Any], handler: Mapping[str, Any]) -> str:
    identity: dict[str, Any] = {
        "event_name": snake(event),
        "hooks": [handler_identity(event, handler)],
    }
    if group.get("matcher"):
        identity["matcher"] = group["matcher"]
    canonical = json.dumps(identity, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def trust_key(source_file: str, event: str, group_index: int, handler_index: int) -> str:
    return f"{source_file}:{snake(event)}:{group_index}:{handler_index}"
