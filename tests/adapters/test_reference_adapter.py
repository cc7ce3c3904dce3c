"""The reference adapter against real sandbox partners over HTTP: tokens, retries, errors."""

from __future__ import annotations

import socket

import pytest

from adapters import (
    PartnerAuthError,
    PartnerUnavailable,
    QuoteRequest,
    ReferenceAdapter,
    RetryPolicy,
    create_adapter,
)
from adapters.airline import PROTOCOL as AIRLINE
from sandbox import SandboxCluster
from tests.adapters.support import config_for, soon
from tests.support import SandboxControl

# tests/e2e/test_booking.py imports `config_for` from here.
__all__ = ["config_for"]

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
