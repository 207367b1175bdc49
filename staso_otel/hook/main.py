"""The hook entry point: read one event on stdin, record it with its receipt time, leave. [stdlib]

This runs synchronously inside the traced agent for every event, so it is a doorman:
stamp the time, append the raw event to the session's journal, make sure a worker will
export it, exit 0. Standard library only, no network, nothing on stdout (Codex feeds
SessionStart/UserPromptSubmit stdout to the model), exit 0 on any input.
"""

from __future__ import annotations

import json
import os
import sys
import time

RECEIVED_NS = time.time_ns()  # as early as possible: the event's real receipt time

from staso_otel.hook import spawn  # noqa: E402 - after the timestamp on purpose
from staso_otel.record import append  # noqa: E402

TARGETS = ("codex", "claude-code")
MAX_STDIN_BYTES = 256 * 1024 * 1024  # a bound, so a runaway producer cannot exhaust memory


def session_of(raw: bytes) -> tuple[str | None, str]:
    """The event's session id, or None and the reason it has none."""
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
