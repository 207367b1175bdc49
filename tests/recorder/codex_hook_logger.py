"""Hook command for recording Codex sessions: append `{"t", "payload"}` to $HOOK_LOG.

Prints nothing and exits 0 (a pure observer), except where asked to play a user's hook:
HOOK_BLOCK=<text> blocks (exit 2) every PreToolUse whose input contains <text>;
HOOK_STOP_BLOCK=<reason> blocks the first Stop of a turn (the turn goes on with <reason>);
HOOK_DENY=<message> answers every PermissionRequest with a denial (the user said no).
HOOK_LOG unset: log nothing (only play the user's hook).
Standard library only; run as `python3 codex_hook_logger.py`.
"""

import json
import os
import sys

from hook_log import log_payload


def main() -> int:
    payload = log_payload()
    block = os.environ.get("HOOK_BLOCK")
    event = payload.get("hook_event_name") if isinstance(payload, dict) else None
    if block and event == "PreToolUse" and block in json.dumps(payload.get("tool_input")):
        sys.stderr.write("blocked by the recording's policy hook")
        return 2
    deny = os.environ.get("HOOK_DENY")
    if deny and event == "PermissionRequest":
        decision = {"behavior": "deny", "message": deny}
        output = {"hookEventName": "PermissionRequest", "decision": decision}
        sys.stdout.write(json.dumps({"hookSpecificOutput": output}))
    stop_reason = os.environ.get("HOOK_STOP_BLOCK")
    if stop_reason and event == "Stop" and not payload.get("stop_hook_active"):
        sys.stdout.write(json.dumps({"decision": "block", "reason": stop_reason}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
