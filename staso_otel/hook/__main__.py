"""The hook's one entry point, for every agent. [stdlib]

`staso setup` writes `<python> -I -S <this file> <target>`: run as a script, with no
`site` (no .pth files, no site-packages scan) and no runpy, so the interpreter starts as
fast as it can. The package root, two folders up, is then put on sys.path by hand.
`python -m staso_otel.hook <target>` (what earlier releases wrote) still works.
"""

import os
import sys

if not __package__:  # run as a script: `-I` left the package's folder off sys.path
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from staso_otel.hook.main import main

main()
