"""Composition latency with dependent components, against the same plan without them.

    .venv/bin/python -m bench.plan_latency [--compositions 40]

Real gRPC to the gateway, real HTTP to the sandbox partners at their default latencies, one
composition at a time. Four rows, in one run:
- "independent": the travel_abroad recipe with every `$component.flight.*` replaced by the
  trip's own dates — the plan as it was composed before dependencies (all four at once);
- "dependent, none re-asked": the bundled recipe, Tokyo (the flight lands the day it leaves,
  so the car, insurance and roaming quoted on the booked dates stand);
- "dependent, re-asked": the bundled recipe, Sydney (the flight lands the next day and is home
  the day after the return leaves: car, insurance and roaming are asked again);
- the same Sydney trip on the independent recipe, for comparison.
Prints a table and, as its last line, one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bundles import RECIPES_DIR
from gateway.cli.sandbox_link import link_to_sandbox
from gateway.client.channels import open_channel
from gateway.client.credentials import PartnerTokens
from gateway.client.journeys import TripPlan, compose_request
from gateway.runtime import running_gateway
from gateway.settings import (
    AuthSettings,
    CompositionSettings,
    GatewaySettings,
    RateLimitSettings,
    TokenIssuerSettings,
)
from partnergateway.v1 import solution_service_pb2_grpc
from sandbox import DEFAULT_PARTNERS, SandboxCluster, start_sandbox

# Each provisional fact as the trip states it: the recipe without dependencies.
_INDEPENDENT = {
    "$component.flight.departure_date": "$trip.depart_date",
    "$component.flight.home_arrival_date": "$trip.return_date",
    "$component.flight.arrival_date": "$trip.depart_date",
    "$component.flight.return_departure_date": "$trip.return_date",
    "    requires: [flight]\n": "",
}


def _independent_recipe(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    text = (RECIPES_DIR / "travel_abroad.yaml").read_text(encoding="utf-8")
    for dependent, independent in _INDEPENDENT.items():
        text = text.replace(dependent, independent)
    (directory / "travel_abroad.yaml").write_text(text, encoding="utf-8")
    return directory


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


async def _measure(
    cluster: SandboxCluster, settings: GatewaySettings, plan: TripPlan, count: int
) -> dict[str, float]:
    linked = link_to_sandbox(settings, cluster)
    async with (
        running_gateway(linked, "127.0.0.1:0") as gateway,
        open_channel(
            gateway.target, tokens=PartnerTokens.from_settings(linked, gateway.issuer_url)
        ) as channel,
    ):
        stub = solution_service_pb2_grpc.SolutionServiceStub(channel)
        request = compose_request("roaming", plan)
        await stub.ComposeSolution(request, timeout=30)  # warm: tokens, connections
        latencies = []
        for _ in range(count):
            started = time.perf_counter()
            await stub.ComposeSolution(request, timeout=30)
            latencies.append((time.perf_counter() - started) * 1000)
    return {
        "p50_ms": round(statistics.median(latencies), 1),
        "p99_ms": round(_percentile(latencies, 0.99), 1),
    }


async def main(count: int) -> None:
    depart = datetime.now(UTC).date() + timedelta(days=30)
    tokyo = TripPlan("JP", "NRT", depart, depart + timedelta(days=7))
    sydney = TripPlan("AU", "SYD", depart, depart + timedelta(days=7))
    results: dict[str, dict[str, float]] = {}
    async with await start_sandbox(DEFAULT_PARTNERS) as cluster:
        slowest = max(p.state.knobs.latency_ms for p in cluster.partners.values())
        with tempfile.TemporaryDirectory(prefix="psg-plan-") as work:
            independent = _independent_recipe(Path(work) / "recipes")
            base = GatewaySettings(
                state_dir=Path(work) / "state",
                rate_limits=RateLimitSettings(requests_per_s=0),
                auth=AuthSettings(issuer=TokenIssuerSettings(address="127.0.0.1:0")),
            )
            flat = base.model_copy(
                update={"composition": CompositionSettings(recipe_dirs=[independent])}
            )
            cases = (
                ("independent, Tokyo", flat, tokyo),
                ("dependent, none re-asked (Tokyo)", base, tokyo),
                ("independent, Sydney", flat, sydney),
                ("dependent, re-asked (Sydney)", base, sydney),
            )
            for name, settings, plan in cases:
                print(f"… {name}", flush=True)
                results[name] = await _measure(cluster, settings, plan, count)
    print(f"slowest partner's latency knob: {slowest} ms; {count} compositions per row")
    print(f"{'case':36} {'p50 ms':>8} {'p99 ms':>8}")
    for name, figures in results.items():
        print(f"{name:36} {figures['p50_ms']:>8} {figures['p99_ms']:>8}")
    print(json.dumps({"slowest_partner_ms": slowest, "compositions": count, **results}))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--compositions", type=int, default=40)
    args = parser.parse_args()
    asyncio.run(main(args.compositions))
