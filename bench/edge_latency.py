"""What Envoy in front costs a composition: the same ComposeSolution, in one run, directly
over gRPC and through a real Envoy (docker/envoy.yaml on loopback) as native gRPC, gRPC-Web
and HTTP/JSON — each with the same customer-session token, one call at a time, the four
paths interleaved so that drift hits them alike.

    .venv/bin/python -m bench.edge_latency [--compositions 60] [--partner-latency-ms 5]

The sandbox partners answer in a fixed time (no jitter) so that the differences are the
paths'. Prints a table and, as its last line, one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote_plus

import grpc
import httpx2
from google.protobuf import json_format

from gateway.cli.sandbox_link import link_to_sandbox
from gateway.client.journeys import TripPlan, compose_request
from gateway.edge import (
    EdgeLayout,
    grpc_web_call,
    load_envoy_config,
    local_envoy_config,
    running_envoy,
)
from gateway.runtime import running_gateway
from gateway.settings import (
    AuthSettings,
    GatewaySettings,
    IssuerClientSettings,
    RateLimitSettings,
    TokenIssuerSettings,
)
from partnergateway.v1 import solution_service_pb2, solution_service_pb2_grpc
from sandbox import DEFAULT_PARTNERS, SandboxCluster, start_sandbox

PARTNER = "telecom-cn"
SECRET = "bench-secret"
Call = Callable[[], Awaitable[None]]


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


async def _session_token(http: httpx2.AsyncClient, issuer_url: str) -> str:
    """As the telecom's backend gets one: its own token, then a token exchange."""
    auth = (quote_plus(PARTNER), quote_plus(SECRET))
    own = await http.post(
        f"{issuer_url}/oauth/token", data={"grant_type": "client_credentials"}, auth=auth
    )
    own.raise_for_status()
    exchanged = await http.post(
        f"{issuer_url}/oauth/token",
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
            "subject_token": own.json()["access_token"],
            "subject_token_type": "urn:ietf:params:oauth:token-type:access_token",
        },
        auth=auth,
    )
    exchanged.raise_for_status()
    token: str = exchanged.json()["access_token"]
    return token


def _settings(cluster: SandboxCluster, root: Path) -> GatewaySettings:
    base = link_to_sandbox(GatewaySettings(state_dir=root / "state"), cluster)
    auth = AuthSettings(
        issuer=TokenIssuerSettings(
            address="127.0.0.1:0",
            clients=[IssuerClientSettings(client_id=PARTNER, client_secret=SECRET)],
        )
    )
    return base.model_copy(
        update={"auth": auth, "rate_limits": RateLimitSettings(requests_per_s=0)}
    )


def _paths(
    direct: grpc.aio.Channel,
    proxied: grpc.aio.Channel,
    http: httpx2.AsyncClient,
    envoy_url: str,
    token: str,
) -> dict[str, Call]:
    """One fresh composition (no request id: never a replay) per call, by each path."""
    plan = TripPlan.sample(datetime.now(UTC).date())
    request = compose_request("roaming", plan)
    request.entry.partner_id = ""  # the token says who acts
    body = json_format.MessageToDict(request)
    metadata = (("authorization", f"Bearer {token}"),)
    direct_stub = solution_service_pb2_grpc.SolutionServiceStub(direct)
    proxied_stub = solution_service_pb2_grpc.SolutionServiceStub(proxied)

    async def grpc_direct() -> None:
        await direct_stub.ComposeSolution(request, timeout=30, metadata=metadata)

    async def grpc_envoy() -> None:
        await proxied_stub.ComposeSolution(request, timeout=30, metadata=metadata)

    async def grpc_web() -> None:
        reply = await grpc_web_call(
            http,
            envoy_url,
            "/partnergateway.v1.SolutionService/ComposeSolution",
            request,
            token=token,
        )
        if reply.grpc_status != 0:
            raise RuntimeError(f"gRPC-Web: {reply.trailers}")
        solution_service_pb2.ComposeSolutionResponse.FromString(reply.messages[0])

    async def json_envoy() -> None:
        response = await http.post(
            f"{envoy_url}/v1/solutions:compose",
            json=body,
            headers={"authorization": f"Bearer {token}"},
        )
        response.raise_for_status()
        response.json()

    return {
        "gRPC, direct": grpc_direct,
        "gRPC through Envoy": grpc_envoy,
        "gRPC-Web through Envoy": grpc_web,
        "HTTP/JSON through Envoy": json_envoy,
    }


async def measure(compositions: int, partner_latency_ms: int) -> dict[str, dict[str, float]]:
    samples: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        async with AsyncExitStack() as stack:
            cluster = await stack.enter_async_context(await start_sandbox(DEFAULT_PARTNERS))
            http = await stack.enter_async_context(httpx2.AsyncClient(timeout=30, trust_env=False))
            for partner in cluster.partners.values():
                knobs = {"latency_ms": partner_latency_ms, "latency_jitter_ms": 0}
                (
                    await http.patch(f"{partner.base_url}/_sandbox/knobs", json=knobs)
                ).raise_for_status()
            gateway = await stack.enter_async_context(
                running_gateway(_settings(cluster, root), "127.0.0.1:0")
            )
            assert gateway.issuer_url is not None
            token = await _session_token(http, gateway.issuer_url)
            layout = EdgeLayout(replicas=(("127.0.0.1", gateway.port),))
            envoy = await stack.enter_async_context(
                running_envoy(
                    local_envoy_config(load_envoy_config(), layout),
                    root / "envoy",
                    healthy_replicas=1,
                )
            )
            direct = await stack.enter_async_context(grpc.aio.insecure_channel(gateway.target))
            proxied = await stack.enter_async_context(grpc.aio.insecure_channel(envoy.grpc_target))
            paths = _paths(direct, proxied, http, envoy.url, token)
            for call in paths.values():  # warm: connections, caches
                await call()
            samples = {name: [] for name in paths}
            for _ in range(compositions):
                for name, call in paths.items():
                    started = time.perf_counter()
                    await call()
                    samples[name].append((time.perf_counter() - started) * 1000)
    return {
        name: {
            "p50_ms": round(statistics.median(values), 2),
            "p90_ms": round(_percentile(values, 0.9), 2),
            "mean_ms": round(statistics.fmean(values), 2),
            "n": len(values),
        }
        for name, values in samples.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compositions", type=int, default=60)
    parser.add_argument("--partner-latency-ms", type=int, default=5)
    args = parser.parse_args()
    figures = asyncio.run(measure(args.compositions, args.partner_latency_ms))
    direct = figures["gRPC, direct"]["p50_ms"]
    print(f"{'path':<26}{'p50 ms':>9}{'p90 ms':>9}{'mean ms':>9}{'p50 − direct':>14}")
    for name, row in figures.items():
        extra = row["p50_ms"] - direct
        print(
            f"{name:<26}{row['p50_ms']:>9.2f}{row['p90_ms']:>9.2f}{row['mean_ms']:>9.2f}"
            f"{extra:>+14.2f}"
        )
    print(json.dumps({"partner_latency_ms": args.partner_latency_ms, "paths": figures}))


if __name__ == "__main__":
    main()
