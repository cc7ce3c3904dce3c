"""The gateway's own command line, optionally on uvloop: a benchmark-only switch.

    .venv/bin/python -m bench.run_gateway [--uvloop] serve --config FILE --address HOST:PORT

The gateway runs its event loop with `asyncio.run`; installing uvloop's policy first is all
it takes to run it on uvloop, without a change in the gateway.
"""

from __future__ import annotations

import sys

from bench._loop import install_uvloop


def main(argv: list[str]) -> None:
    if argv[:1] == ["--uvloop"]:
        install_uvloop()
        argv = argv[1:]
    from gateway.cli import main as gateway_main

    sys.argv = ["partner-gateway", *argv]
    gateway_main()


if __name__ == "__main__":
    main(sys.argv[1:])
