"""What every recording hook does first: read the payload the CLI sent on stdin and append
it, with its receipt time, to $HOOK_LOG as `{"t": seconds since the epoch, "payload": ...}`.

HOOK_LOG unset: log nothing (the hook only plays a user's hook). Lines from parallel hooks
do not interleave (each append holds an exclusive lock). Standard library only: the hooks
run as `python3 <recorder>/<agent>_hook_logger.py`, this folder first on sys.path.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import time
from typing import Any


def log_payload() -> Any:
    """The payload as parsed (`{"unparsed": text}` when it is not JSON), logged."""
    t = time.time()
    raw = sys.stdin.read()
    try:
        payload = json.loads(raw)
    except ValueError:
        payload = {"unparsed": raw}
    if os.environ.get("HOOK_LOG"):
        with open(os.environ["HOOK_LOG"], "a", encoding="utf-8") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            fh.write(json.dumps({"t": t, "payload": payload}, ensure_ascii=False) + "\n")
    return payload
