"""The bare scatter-gather the gateway is compared with, in a process of its own.

    .venv/bin/python -m bench.baseline --stubs '{"partners": {...}}' [--transport aiohttp|httpx2]
        [--uvloop] [--levels 16,64,256] [--window '{"min_calls": 200, ...}']

Plain asyncio and the adapters' HTTP client stack (Authlib `AsyncOAuth2Client` on httpx2 with
the aiohttp transport, or with httpx2's own transport), the same six quote calls with the
same bodies, each answer decoded from JSON: no gRPC, no validation, no composition, no store.
Optionally it first holds `--inflight` scatter-gathers at the stubs at once and measures its
own RSS (as the benchmark does for the gateway); then it drives itself in a closed loop at
each concurrency and prints one JSON line: the memory figures and a `Window` per level, CPU
being this whole process's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from collections.abc import Mapping
from typing import Any

import httpx2
from authlib.integrations.httpx_client import AsyncOAuth2Client
from httpx_aiohttp.httpx2 import AiohttpTransport

from bench._closed_loop import WindowRule, closed_loop
from bench._inflight import StubControl, hold_inflight
from bench._loop import install_uvloop
from bench._outcomes import Outcome, reason
from bench.procstat import host_busy_seconds, rss_bytes
from bench.stubs import CLIENT_ID, load_fixtures


def _client(base_url: str, secret: str, transport: str, max_connections: int) -> AsyncOAuth2Client:
    """Configured as `adapters._http.PartnerHttpClient` configures its client."""
    limits = httpx2.Limits(
        max_connections=max_connections, max_keepalive_connections=max_connections
    )
    chosen: httpx2.AsyncBaseTransport = (
        AiohttpTransport(limits=limits, trust_env=False)
        if transport == "aiohttp"
        else httpx2.AsyncHTTPTransport(limits=limits, trust_env=False)
    )
    return AsyncOAuth2Client(
        client_id=CLIENT_ID,
        client_secret=secret,
        token_endpoint_auth_method="client_secret_basic",
        token_endpoint=f"{base_url}/oauth/token",
        grant_type="client_credentials",
        base_url=base_url,
        transport=chosen,
        timeout=httpx2.Timeout(None, connect=2.0),
        trust_env=False,
    )


async def run(
    stubs: Mapping[str, Any],
    transport: str,
    levels: list[int],
    rule: WindowRule,
    max_connections: int,
    inflight: int,
    hold_s: float,
) -> dict[str, Any]:
    fixtures = load_fixtures()["partners"]
    urls: Mapping[str, str] = stubs["partners"]
    calls = [
        (pid, _client(url, fixtures[pid]["client_secret"], transport, max_connections))
        for pid, url in urls.items()
    ]
    try:
        await asyncio.gather(*(client.fetch_token() for _, client in calls))

        async def quote(pid: str, client: AsyncOAuth2Client) -> Outcome:
            response = await client.request("POST", "/v1/quotes", json=fixtures[pid]["request"])
            if response.status_code != 200:
                return reason(f"partner {pid} HTTP {response.status_code}")
            return None if response.json()["offers"] else f"partner {pid} no offers"

        async def scatter_gather() -> Outcome:
            answers = await asyncio.gather(*(quote(pid, client) for pid, client in calls))
            return next((problem for problem in answers if problem is not None), None)

        # As the gateway's process is warmed up before its first row.
        await closed_loop(
            scatter_gather,
            concurrency=min(levels, default=1),
            rule=rule.process_warmup(),
            cpu_clocks={},
        )
        memory = None
        if inflight:
            async with StubControl(stubs["control"]) as control:
                held = await hold_inflight(
                    scatter_gather,
                    lambda: rss_bytes(os.getpid()),
                    control,
                    count=inflight,
                    hold_s=hold_s,
                )
            memory = held.to_json()
        windows = [
            (
                await closed_loop(
                    scatter_gather,
                    concurrency=level,
                    rule=rule,
                    cpu_clocks={"process": time.process_time, "host": host_busy_seconds},
                )
            ).to_json()
            for level in levels
        ]
        return {"memory": memory, "windows": windows}
    finally:
        await asyncio.gather(*(client.aclose() for _, client in calls))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stubs", required=True, help="the stubs' start-up JSON line")
    parser.add_argument("--transport", choices=("aiohttp", "httpx2"), default="aiohttp")
    parser.add_argument("--uvloop", action="store_true")
    parser.add_argument("--levels", default="16,64,256", help="comma-separated; '' for none")
    parser.add_argument("--window", default="{}", help="a WindowRule as JSON; {}: defaults")
    parser.add_argument("--max-connections", type=int, default=1024)
    parser.add_argument("--inflight", type=int, default=0, help="scatter-gathers held at once")
    parser.add_argument("--hold", type=float, default=20.0, help="how long the stubs may hold")
    args = parser.parse_args()
    if args.uvloop:
        install_uvloop()
    result = asyncio.run(
        run(
            json.loads(args.stubs),
            args.transport,
            [int(level) for level in args.levels.split(",") if level],
            WindowRule.from_json(json.loads(args.window)),
            args.max_connections,
            args.inflight,
            args.hold,
        )
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
