"""Retry policy and budget accounting: a token is spent only on a retry that really follows."""

from __future__ import annotations

import time

import httpx2
import pytest

from adapters import PartnerRejected, PartnerUnavailable, RetryPolicy
from adapters._http import PartnerHttpClient
from adapters._retry import RetryBudget, build_retrying
from tests.adapters.test_http_errors import CONFIG, TOKEN

pytestmark = pytest.mark.unit

NO_WAIT = RetryPolicy(max_attempts=3, initial_backoff_s=0.0, max_backoff_s=0.0, jitter_s=0.0)


class Clock:
    now = 1000.0

    def __call__(self) -> float:
        return self.now


async def attempts_until_given_up(budget: RetryBudget, error: Exception) -> int:
    attempts = 0

    async def call() -> None:
        nonlocal attempts
        async for attempt in build_retrying(NO_WAIT, time.monotonic() + 5, budget):
            with attempt:
                attempts += 1
                raise error

    with pytest.raises(type(error)):
        await call()
    return attempts


async def test_the_last_attempt_spends_no_retry_token() -> None:
    budget = RetryBudget(ratio=0.0, min_per_s=0.0, clock=Clock())
    before = budget.tokens

    attempts = await attempts_until_given_up(budget, PartnerUnavailable("p", "down"))

    assert attempts == 3
    assert budget.tokens == before - 2  # two retries followed; the third failure ends it


async def test_a_failure_that_is_not_retried_spends_nothing() -> None:
    budget = RetryBudget(ratio=0.0, min_per_s=0.0, clock=Clock())
    before = budget.tokens

    attempts = await attempts_until_given_up(
        budget, PartnerRejected("p", "no", status=409, code="conflict")
    )

    assert attempts == 1
    assert budget.tokens == before


async def test_an_empty_budget_stops_retrying_and_stays_at_zero() -> None:
    budget = RetryBudget(ratio=0.0, min_per_s=0.0, clock=Clock())
    while budget.try_spend():
        pass
    budget_left = budget.tokens

    attempts = await attempts_until_given_up(budget, PartnerUnavailable("p", "down"))

    assert attempts == 1
    assert budget.tokens == budget_left < 1


async def test_the_clients_retries_are_what_the_budget_paid_for() -> None:
    """Through the HTTP client: a partner answering 503 to everything, one call after
    another. Each call earns `budget_ratio` of a retry; after the starting reserve is gone,
    the partner sees about that share of extra calls — the last attempts spend nothing."""
    api_calls = 0

    def partner(request: httpx2.Request) -> httpx2.Response:
        nonlocal api_calls
        if request.url.path == "/oauth2/token":
            return httpx2.Response(200, json=TOKEN)
        api_calls += 1
        return httpx2.Response(503, json={"error": {"code": "unavailable", "message": "down"}})

    policy = RetryPolicy(
        max_attempts=2,
        initial_backoff_s=0.0,
        max_backoff_s=0.0,
        jitter_s=0.0,
        budget_ratio=0.5,
        budget_min_per_s=0.0,
    )
    config = CONFIG.__class__(**{**CONFIG.__dict__, "retry": policy})
    client = PartnerHttpClient(config, transport=httpx2.MockTransport(partner))
    try:
        for _ in range(40):
            with pytest.raises(PartnerUnavailable):
                await client.post_json("/v1/quotes", {}, deadline=time.monotonic() + 5)
    finally:
        await client.aclose()

    # The bucket starts full (10; the first call's half token is lost to that cap), then 39
    # calls earn 0.5 each: 29.5 tokens, 29 retries, and every one paid for was made. (Had
    # each call's last attempt spent a token too, about half of them would have been.)
    assert client.retries == 29
    assert api_calls == 40 + 29
