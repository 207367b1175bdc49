"""Deterministic trace and span ids from the agent's own ids. [stdlib]

A trace id hashes (target, session, turn); a span id hashes (trace id, kind, call id).
So a span re-sent after a failed export is the same span (backends de-duplicate it), and
separate processes agree on parents without talking. Never zero: zero means "invalid" in
OpenTelemetry.
"""

from __future__ import annotations

import hashlib


def _digest(*parts: object) -> bytes:
    h = hashlib.sha256()
    for part in parts:
        h.update(str(part).encode("utf-8", "surrogatepass"))
        h.update(b"\x1f")  # unit separator: ("ab", "c") and ("a", "bc") differ
    return h.digest()


def trace_id(*keys: object) -> int:
    """128-bit trace id from stable keys, e.g. trace_id("codex", session_id, turn_id)."""
    value = int.from_bytes(_digest("trace", *keys)[:16], "big")
    return value or 1


def span_id(trace: int, *keys: object) -> int:
    """64-bit span id unique within `trace`, e.g. span_id(trace, "tool", call_id)."""
    value = int.from_bytes(_digest("span", f"{trace:032x}", *keys)[:8], "big")
    return value or 1
