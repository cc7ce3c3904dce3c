"""The reference adapter against real sandbox partners over HTTP: tokens, retries, errors."""

from __future__ import annotations

import socket
import time

import pytest

from adapters import (
    PartnerAuthError,
    PartnerConfig,
    PartnerUnavailable,
    QuoteRequest,
    ReferenceAdapter,
    RetryPolicy,
    create_adapter,
)
from adapters.airline import PROTOCOL as AIRLINE
from sandbox import SandboxCluster
from tests.conftest import TEST_LATENCY_MS
from tests.support import SandboxControl

QUOTE = QuoteRequest(
    component="flight",
    params={
        "origin": "PVG",
        "destination": "NRT",
        "depart_date": "2030-03-01",
        "return_date": "2030-03-08",
        "adults": 2,
        "children": 0,
        "cabin": "economy",
    },
)
FAST = RetryPolicy(max_attempts=3, initial_backoff_s=0.01, max_backoff_s=0.02, jitter_s=0.0)


def config_for(
    sandbox: SandboxCluster, partner_id: str = "airline-a", **changes: object
) -> PartnerConfig:
    running = sandbox.partners[partner_id]
    values: dict[str, object] = {
        "partner_id": partner_id,
        "kind": running.spec.kind,
        "name": running.spec.name,
        "base_url": running.base_url,
        "token_url": running.token_url,
        "client_id": "partner-gateway",
        "client_secret": running.spec.client_secrets["partner-gateway"],
        "retry": FAST,
    }
    values.update(changes)
    return PartnerConfig(**values)  # type: ignore[arg-type]


@pytest.fixture
async def fresh(control: SandboxControl) -> SandboxControl:
    for pid in control.base_urls:
        await control.set_knobs(
            pid, latency_ms=TEST_LATENCY_MS, outage=False, fail_next=[], error_rate=0.0
        )
    await control.clear_ledgers()
    return control


def soon(seconds: float = 5.0) -> float:
    return time.monotonic() + seconds


async def test_quote_parses_offers_with_exact_prices(
    sandbox: SandboxCluster, fresh: SandboxControl
) -> None:
    adapter = create_adapter(config_for(sandbox))
    try:
        offers = await adapter.quote(QUOTE, deadline=soon())
    finally:
        await adapter.aclose()
    assert offers
    for offer in offers:
        assert offer.partner_id == "airline-a"
        assert offer.price.currency_code == "CNY"
        assert offer.price.total == offer.price.base + offer.price.tax
        assert offer.attributes["outbound_origin"] == "PVG"


async def test_a_401_fetches_one_new_token_and_retries_once(
    sandbox: SandboxCluster, fresh: SandboxControl
) -> None:
    adapter = ReferenceAdapter(config_for(sandbox), AIRLINE)
    try:
        await adapter.quote(QUOTE, deadline=soon())
        # Spoil the cached token as if the partner had rotated its keys.
        adapter._http._oauth.token["access_token"] = "spoiled"
        await adapter.quote(QUOTE, deadline=soon())
    finally:
        await adapter.aclose()
    assert await fresh.count("airline-a", "token") == 2
    assert [e["status"] for e in await fresh.ledger("airline-a", "quote")] == [200, 401, 200]


async def test_wrong_secret_is_an_auth_error_not_retried(
    sandbox: SandboxCluster, fresh: SandboxControl
) -> None:
    adapter = create_adapter(config_for(sandbox, client_secret="wrong"))
    try:
        with pytest.raises(PartnerAuthError):
            await adapter.quote(QUOTE, deadline=soon())
    finally:
        await adapter.aclose()
    assert await fresh.count("airline-a", "token") == 1
    assert await fresh.count("airline-a", "quote") == 0


async def test_nobody_listening_is_unavailable(sandbox: SandboxCluster) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    adapter = create_adapter(config_for(sandbox, base_url=url, token_url=f"{url}/oauth/token"))
    try:
        with pytest.raises(PartnerUnavailable):
            await adapter.quote(QUOTE, deadline=soon())
    finally:
        await adapter.aclose()


async def test_retries_stop_at_the_deadline(sandbox: SandboxCluster, fresh: SandboxControl) -> None:
    await fresh.set_knobs("airline-a", outage=True)
    patient = RetryPolicy(max_attempts=10, initial_backoff_s=0.2, max_backoff_s=0.2, jitter_s=0.0)
    adapter = create_adapter(config_for(sandbox, retry=patient))
    try:
        with pytest.raises(PartnerUnavailable):
            await adapter.quote(QUOTE, deadline=soon(0.5))
    finally:
        await adapter.aclose()
    # 10 attempts were allowed, but only those whose wait fits in 0.5 s were made. During an
    # outage the token endpoint fails too, so the attempts end there.
    attempts = len(await fresh.ledger("airline-a"))
    assert 1 <= attempts <= 3
