"""Console script `staso`: routes `staso hook ...` to the stdlib hook before click loads.

The hook runs inside the agent for every event, so it must not pay for click (~45 ms);
every other command goes to the click app.
"""

from __future__ import annotations

import sys


def main() -> None:
    argv = sys.argv[1:]
    # `staso hook --help` goes to click for the help text; the agent never passes it
    if argv[:1] == ["hook"] and not {"-h", "--help"} & set(argv[1:]):
        from staso_otel.hook.main import run

        sys.exit(run(argv[1:]))
    from staso_cli.main import cli

    cli(prog_name="staso")


if __name__ == "__main__":
    main()
