"""The HTTP client's error mapping, through its `transport=` seam (httpx2's MockTransport):
every answer a partner can give becomes one class of the adapter error tree, retried or not
as that class says. In memory, no server: milliseconds each."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine

import httpx2
import pytest

from adapters import (
    AdapterError,
    PartnerAuthError,
    PartnerConfig,
    PartnerProtocolError,
    PartnerRateLimited,
    PartnerRejected,
    PartnerServerError,
    PartnerTimeout,
    PartnerUnavailable,
    RetryPolicy,
)
from adapters._http import PartnerHttpClient

pytestmark = pytest.mark.unit

TOKEN = {"access_token": "t-1", "token_type": "Bearer", "expires_in": 300}
CONFIG = PartnerConfig(
    partner_id="airline-a",
    kind="airline",
    name="Airline A",
    base_url="http://partner.test",
    token_url="http://partner.test/oauth2/token",
    client_id="gateway",
    client_secret="secret",
    retry=RetryPolicy(max_attempts=3, initial_backoff_s=0.0, max_backoff_s=0.0, jitter_s=0.0),
)
Answer = Callable[[httpx2.Request], httpx2.Response]
Handler = Answer | Callable[[httpx2.Request], Coroutine[None, None, httpx2.Response]]


class Partner:
    """A partner in memory: tokens always, every API call answered by `answer`."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.api_calls: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        if request.url.path == "/oauth2/token":
            return httpx2.Response(200, json=TOKEN)
        self.api_calls.append(request)
        return self.answer(request)


def error(status: int, code: str = "x", headers: dict[str, str] | None = None) -> Answer:
    body = {"error": {"code": code, "message": f"status {status}"}}
    return lambda request: httpx2.Response(status, json=body, headers=headers)


async def post(partner: Handler, deadline_s: float = 5.0) -> object:
    client = PartnerHttpClient(CONFIG, transport=httpx2.MockTransport(partner))
    try:
        return await client.post_json(
            "/v1/holds",
            {"offer_id": "o-1"},
            deadline=time.monotonic() + deadline_s,
            idempotency_key="k-1",
        )
    finally:
        await client.aclose()


@pytest.mark.parametrize(
    ("answer", "expected", "calls"),
    [
        pytest.param(error(400, "invalid_request"), PartnerRejected, 1, id="400"),
        pytest.param(error(404, "not_found"), PartnerRejected, 1, id="404"),
        pytest.param(error(409, "conflict"), PartnerRejected, 1, id="409"),
        # One new token and one more try after a 401, never a loop.
        pytest.param(error(401, "invalid_token"), PartnerAuthError, 2, id="401"),
        pytest.param(error(403, "forbidden"), PartnerAuthError, 1, id="403"),
        pytest.param(error(429, headers={"Retry-After": "0"}), PartnerRateLimited, 3, id="429"),
        pytest.param(error(500), PartnerServerError, 1, id="500"),
        pytest.param(error(502), PartnerUnavailable, 3, id="502"),
        pytest.param(error(503), PartnerUnavailable, 3, id="503"),
        pytest.param(error(504), PartnerUnavailable, 3, id="504"),
        pytest.param(
            lambda request: httpx2.Response(200, content=b'{"hold_id": '),
            PartnerProtocolError,
            1,
            id="truncated-json",
        ),
    ],
)
async def test_each_answer_maps_to_one_error_class_retried_as_it_says(
    answer: Answer, expected: type[AdapterError], calls: int
) -> None:
    partner = Partner(answer)

    with pytest.raises(AdapterError) as caught:
        await post(partner)

    assert type(caught.value) is expected
    assert len(partner.api_calls) == calls
    assert all(r.headers["Idempotency-Key"] == "k-1" for r in partner.api_calls)
    assert caught.value.partner_id == "airline-a"


def test_the_classification_lives_on_the_error_classes() -> None:
    """One table, read by the saga (effect unknown), the guard (breaker) and the retrier."""
    table = {
        cls: (cls.retryable, cls.effect_unknown, cls.counts_against_breaker)
        for cls in (
            PartnerUnavailable,
            PartnerRateLimited,
            PartnerTimeout,
            PartnerAuthError,
            PartnerRejected,
            PartnerServerError,
            PartnerProtocolError,
        )
    }
    assert table == {
        PartnerUnavailable: (True, True, True),
        PartnerRateLimited: (True, False, True),
        PartnerTimeout: (True, True, True),
        PartnerAuthError: (False, False, False),
        PartnerRejected: (False, False, False),
        PartnerServerError: (False, True, True),
        PartnerProtocolError: (False, True, True),
    }


async def test_a_refused_connection_is_unavailable_and_retried() -> None:
    def refuse(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("connection refused", request=request)

    partner = Partner(refuse)

    with pytest.raises(PartnerUnavailable):
        await post(partner)

    assert len(partner.api_calls) == 3


async def test_no_answer_before_the_deadline_is_a_timeout() -> None:
    async def never(request: httpx2.Request) -> httpx2.Response:
        await asyncio.sleep(10)
        raise AssertionError("unreachable")

    async def partner(request: httpx2.Request) -> httpx2.Response:
        if request.url.path == "/oauth2/token":
            return httpx2.Response(200, json=TOKEN)
        return await never(request)

    started = time.monotonic()
    with pytest.raises(PartnerTimeout):
        await post(partner, deadline_s=0.05)
    assert time.monotonic() - started < 1.0


@pytest.mark.parametrize(
    ("token_status", "expected"),
    [(503, PartnerUnavailable), (500, PartnerServerError), (400, PartnerAuthError)],
)
async def test_a_failing_token_endpoint_maps_like_any_other_answer(
    token_status: int, expected: type[AdapterError]
) -> None:
    def partner(request: httpx2.Request) -> httpx2.Response:
        if request.url.path == "/oauth2/token":
            body = {"error": "invalid_client"} if token_status == 400 else {}
            return httpx2.Response(token_status, json=body)
        return httpx2.Response(201, json={"hold_id": "h-1"})

    with pytest.raises(AdapterError) as caught:
        await post(partner)

    assert type(caught.value) is expected


async def test_a_transient_failure_then_an_answer_is_one_retry() -> None:
    answers = iter([error(503)(httpx2.Request("POST", "/")), httpx2.Response(201, json={"h": 1})])
    partner = Partner(lambda request: next(answers))
    client = PartnerHttpClient(CONFIG, transport=httpx2.MockTransport(partner))
    try:
        answer = await client.post_json(
            "/v1/holds", {"offer_id": "o-1"}, deadline=time.monotonic() + 5, idempotency_key="k"
        )
    finally:
        await client.aclose()
    assert answer == {"h": 1}
    assert len(partner.api_calls) == 2
    assert client.retries == 1


async def test_an_empty_retry_budget_leaves_one_attempt() -> None:
    partner = Partner(error(503))
    client = PartnerHttpClient(CONFIG, transport=httpx2.MockTransport(partner))
    while client._retry_budget.try_spend():  # a partner that failed a lot just now
        pass
    try:
        with pytest.raises(PartnerUnavailable):
            await client.post_json("/v1/holds", {}, deadline=time.monotonic() + 5)
    finally:
        await client.aclose()
    # The call's own deposit (a fifth of a retry by default) is not a whole retry.
    assert len(partner.api_calls) == 1
    assert client.retries == 0
