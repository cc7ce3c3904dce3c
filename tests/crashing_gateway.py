"""A gateway that SIGKILLs itself when a booking saga reaches a given point, for the crash-safety
tests: `python -m tests.crashing_gateway --crash-at POINT --config FILE`.

It is built as `partner-gateway serve --config FILE` builds it (`running_gateway` from the same
settings) and says so in the same words on stderr ("gateway serving on port N"), so
`tests.processes.gateway_process` starts either. The hook goes in through `running_gateway`'s
`step_hook` seam: production has no setting or option that kills a process.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from pathlib import Path

from gateway.booking import StepHook
from gateway.runtime import running_gateway, wait_for_termination
from gateway.settings import load_settings
from gateway.telemetry import configure_logging

log = logging.getLogger(__name__)


def kill_at(crash_at: str) -> StepHook:
    """SIGKILL this process — no cleanup, no flush, as a power cut — when a saga passes
    `crash_at` (e.g. `after_call:hold:flight`)."""

    def reached(point: str) -> None:
        if point == crash_at:
            log.warning("crash test: SIGKILL at %s", point)
            os.kill(os.getpid(), signal.SIGKILL)

    return reached


async def serve(config: Path, crash_at: str) -> None:
    settings = load_settings(config)
    configure_logging(settings.log_level)
    async with running_gateway(settings, step_hook=kill_at(crash_at)) as gateway:
        print(f"gateway serving on port {gateway.port}", file=sys.stderr, flush=True)
        await wait_for_termination()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.crashing_gateway")
    parser.add_argument("--crash-at", required=True, help="the saga point to die at")
    parser.add_argument("--config", required=True, type=Path, help="YAML settings file")
    args = parser.parse_args(argv)
    asyncio.run(serve(args.config, args.crash_at))


if __name__ == "__main__":
    main()
