"""A Gemini CLI hook that appends each payload, with its receipt time, to $HOOK_LOG.

Used by record_gemini.py to capture what the real CLI sends; prints nothing, exits 0.
"""

from __future__ import annotations

import json
import os
import sys
import time


def main() -> int:
    t = time.time_ns()
    raw = sys.stdin.read()
    try:
        payload = json.loads(raw)
    except ValueError:
        payload = {"unparsed": raw}
    line = json.dumps({"t": t, "payload": payload}) + "\n"
    with open(os.environ["HOOK_LOG"], "a", encoding="utf-8") as fh:
        fh.write(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
