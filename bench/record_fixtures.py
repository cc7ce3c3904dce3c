"""Record the partner answers the benchmark's stubs replay, from the real sandbox partners.

    .venv/bin/python -m bench.record_fixtures

Starts the sandbox partners and the gateway in this process, composes the sample trip once
(entered at the telecom), reads from each partner's ledger the quote body the gateway sent,
asks the partner the same again and stores request and answer in `bench/fixtures/quotes.json`,
with one token answer as an example of its shape. Offer expiries are rewritten by the stubs
when they start, so the recorded dates never go stale.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2

from gateway.cli.sandbox_link import link_to_sandbox
from gateway.client.channels import open_channel
from gateway.client.credentials import PartnerTokens
from gateway.client.journeys import TripPlan, compose_request
from gateway.runtime import running_gateway
from gateway.settings import AuthSettings, GatewaySettings, TokenIssuerSettings
from partnergateway.v1 import solution_service_pb2_grpc
from sandbox import DEFAULT_PARTNERS, GATEWAY_CLIENT_ID, start_sandbox

FIXTURES = Path(__file__).with_name("fixtures") / "quotes.json"


async def record() -> dict[str, Any]:
    partners: dict[str, Any] = {}
    token_example: dict[str, Any] = {}
    async with await start_sandbox(DEFAULT_PARTNERS) as cluster:
        with tempfile.TemporaryDirectory(prefix="psg-fixtures-") as state:
            base = GatewaySettings(
                state_dir=Path(state),
                auth=AuthSettings(issuer=TokenIssuerSettings(address="127.0.0.1:0")),
            )
            settings = link_to_sandbox(base, cluster)  # the sandbox partners: issuer clients
            async with (
                running_gateway(settings, "127.0.0.1:0") as gateway,
                open_channel(
                    gateway.target, tokens=PartnerTokens.from_settings(settings, gateway.issuer_url)
                ) as channel,
            ):
                stub = solution_service_pb2_grpc.SolutionServiceStub(channel)
                plan = TripPlan.sample(datetime.now(UTC).date())
                await stub.ComposeSolution(compose_request("roaming", plan), timeout=30)
        async with httpx2.AsyncClient(timeout=10, trust_env=False) as http:
            for pid, running in cluster.partners.items():
                secret = running.spec.client_secrets[GATEWAY_CLIENT_ID]
                token = await http.post(
                    running.token_url,
                    data={"grant_type": "client_credentials"},
                    auth=(GATEWAY_CLIENT_ID, secret),
                )
                token.raise_for_status()
                token_example = token.json()
                quotes = running.state.ledger.of("quote")
                request = quotes[-1].request
                answer = await http.post(
                    f"{running.base_url}/v1/quotes",
                    json=request,
                    headers={"Authorization": f"Bearer {token_example['access_token']}"},
                )
                answer.raise_for_status()
                partners[pid] = {
                    "kind": running.spec.kind,
                    "name": running.spec.name,
                    "latency_ms": running.spec.knobs.latency_ms,
                    "client_secret": secret,
                    "request": request,
                    "response": answer.json(),
                }
    return {"token_example": token_example, "partners": partners}


def main() -> None:
    fixtures = asyncio.run(record())
    FIXTURES.parent.mkdir(exist_ok=True)
    FIXTURES.write_text(json.dumps(fixtures, indent=1, ensure_ascii=False) + "\n")
    sizes = {pid: len(json.dumps(p["response"])) for pid, p in fixtures["partners"].items()}
    print(f"wrote {FIXTURES} (answer bytes per partner: {sizes})")


if __name__ == "__main__":
    main()
