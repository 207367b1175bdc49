"""`python -m staso_otel.hook codex`: the hook without the console script. [stdlib]"""

from staso_otel.hook.main import main

main()
