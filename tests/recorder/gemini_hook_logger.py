"""A Gemini CLI hook that appends each payload, with its receipt time, to $HOOK_LOG.

Used by record_gemini.py to capture what the real CLI sends; prints nothing, exits 0.
"""

from __future__ import annotations

import sys

from hook_log import log_payload


def main() -> int:
    log_payload()
    return 0


if __name__ == "__main__":
    sys.exit(main())
