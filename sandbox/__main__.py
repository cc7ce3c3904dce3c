"""`python -m sandbox`: run the default sandbox partners until SIGINT or SIGTERM.

For a developer poking at the protocol with curl, or a container in a compose file; tests
and the gateway start partners in-process with `start_sandbox` instead.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal

from sandbox._defaults import DEFAULT_PARTNERS
from sandbox._runner import start_sandbox


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback)")
    parser.add_argument(
        "--port-base",
        type=int,
        default=0,
        help="first port; partners take consecutive ports in DEFAULT_PARTNERS order (0: any free)",
    )
    return parser.parse_args()


async def _serve(host: str, port_base: int) -> None:
    ports = {
        spec.partner_id: port_base + i if port_base else 0
        for i, spec in enumerate(DEFAULT_PARTNERS)
    }
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with await start_sandbox(DEFAULT_PARTNERS, host=host, ports=ports) as cluster:
        for partner in cluster.partners.values():
            line = {
                "partner_id": partner.spec.partner_id,
                "kind": partner.spec.kind,
                "base_url": partner.base_url,
                "token_url": partner.token_url,
                "audience": partner.audience,
            }
            print(json.dumps(line), flush=True)
        await stop.wait()


def main() -> None:
    arguments = _arguments()
    asyncio.run(_serve(arguments.host, arguments.port_base))


if __name__ == "__main__":
    main()
