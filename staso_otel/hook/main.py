"""The hook entry point: read one event on stdin, record it with its receipt time, leave. [stdlib]

This runs synchronously inside the traced agent for every event, so it is a doorman:
stamp the time, append the raw event to the session's journal, make sure a worker will
export it, exit 0. Standard library only, no network, nothing on stdout (Codex feeds
SessionStart/UserPromptSubmit stdout to the model), exit 0 on any input.

It does not parse the event: importing `json` alone (it pulls in `re`) costs more than
the rest of the hook. The session id, which names the journal, is among the first
top-level keys in every event both agents send, after plain values only, so it is read
with a few byte searches; an event in another shape takes the slow path (a real JSON
parse, and quarantine if it is not an event). The worker parses every record it reads
and quarantines the few that are not JSON after all.
"""

from __future__ import annotations

import os
import sys
import time

RECEIVED_NS = time.time_ns()  # as early as possible: the event's real receipt time

from staso_otel.hook import spawn  # noqa: E402 - after the timestamp on purpose
from staso_otel.record import append  # noqa: E402

TARGETS = ("codex", "claude-code", "gemini")
MAX_STDIN_BYTES = 256 * 1024 * 1024  # a bound, so a runaway producer cannot exhaust memory
_BLANK = (b" ", b"\t", b"\r", b"\n")
MAX_KEYS_BEFORE = 16  # top-level keys read before giving the event to the slow path


def _skip_blank(raw: bytes, i: int) -> int:
    while raw[i : i + 1] in _BLANK:
        i += 1
    return i


def _string(raw: bytes, i: int) -> tuple[bytes | None, int]:
    """The JSON string at raw[i] without its quotes, and the index after it; None if
    there is none or it has an escape (only the slow path decodes those exactly)."""
    if raw[i : i + 1] != b'"':
        return None, i
    end = raw.find(b'"', i + 1)
    if end < 0:
        return None, i
    value = raw[i + 1 : end]
    return (None, i) if b"\\" in value else (value, end + 1)


def leading_session_id(raw: bytes) -> str | None:
    """The top-level session_id, read without a parser, or None (the slow path decides).

    Both agents put it among the first keys, after plain values only (Codex 0.171 sends
    `kind`, `request_id` and `attempt_number` first on model requests), so this walks the
    top-level keys and skips their values by searching for the next quote or comma;
    meeting a nested object or array first, an escape, or anything unexpected, it gives
    up. Ids with unusual characters return None too."""
    i = _skip_blank(raw, 0)
    if raw[i : i + 1] != b"{":
        return None
    i += 1
    for _ in range(MAX_KEYS_BEFORE):
        key, i = _string(raw, _skip_blank(raw, i))
        i = _skip_blank(raw, i)
        if key is None or raw[i : i + 1] != b":":
            return None
        i = _skip_blank(raw, i + 1)
        if key == b"session_id":
            value, _ = _string(raw, i)
            if value is None:
                return None
            text = value.decode("ascii", "replace")
            return text if append.is_plain_id(text) else None
        if raw[i : i + 1] == b'"':
            _, i = _string(raw, i)
        elif raw[i : i + 1] in (b"{", b"[", b""):
            return None  # a nested value first: not worth walking here
        else:  # a number, true, false or null runs to the next comma or brace
            ends = [n for n in (raw.find(b",", i), raw.find(b"}", i)) if n >= 0]
            i = min(ends) if ends else len(raw)
        i = _skip_blank(raw, i)
        if raw[i : i + 1] != b",":
            return None
        i += 1
    return None


def session_of(raw: bytes) -> tuple[str | None, str]:
    """The event's session id, or None and the reason it has none."""
    session_id = leading_session_id(raw)
    if session_id is not None:
        return session_id, ""
    import json  # the slow path: an event in a shape neither agent sends

    if not raw.strip():
        return None, "empty input"
    try:
        payload = json.loads(raw)
    except ValueError as exc:
        return None, f"not JSON: {exc}"
    if not isinstance(payload, dict):
        return None, "not a JSON object"
    session_id = payload.get("session_id")
    if not isinstance(session_id, str) or not session_id:
        return None, "no session_id"
    return session_id, ""


def record(target: str, raw: bytes, received_ns: int) -> bool:
    """Append one event; False if it went to quarantine instead."""
    session_id, reason = session_of(raw)
    if session_id is None:
        append.quarantine(target, received_ns, raw, reason)
        return False
    append.append(target, session_id, received_ns, raw)
    return True


def run(argv: list[str]) -> int:
    """`staso hook <target>`; always returns 0."""
    try:
        target = argv[0] if argv else ""
        raw = sys.stdin.buffer.read(MAX_STDIN_BYTES)
        if target not in TARGETS:
            append.quarantine(target or "?", RECEIVED_NS, raw, f"unknown target {target!r}")
            return 0
        try:
            record(target, raw, RECEIVED_NS)
        except OSError as exc:
            if exc.errno not in append.NO_SPACE:
                raise
            append.note_no_space(exc)
        else:
            append.note_recorded()
        if os.environ.get("STASO_NO_WORKER", "") not in ("1", "true"):
            spawn.ensure_worker()
    except Exception:
        from staso_otel import log  # only on the error path: it costs imports

        log.internal_error("hook")
    return 0


def main() -> None:
    sys.exit(run(sys.argv[1:]))


if __name__ == "__main__":
    main()
