"""Customer-session tokens (RFC 8693 token exchange at the embedded issuer) end to end: real
HTTP to the issuer, real gRPC to the session's gateway, real sandbox partners."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
import httpx2
import pytest
from pydantic import ValidationError

from gateway.audit import last_seq
from gateway.client.journeys import TripPlan, book_request, compose_request
from gateway.runtime import RunningGateway, running_gateway
from gateway.settings import AuthSettings, GatewaySettings, TokenIssuerSettings
from partnergateway.v1 import (
    consent_service_pb2,
    consent_service_pb2_grpc,
    feedback_service_pb2,
    feedback_service_pb2_grpc,
    order_pb2,
    order_service_pb2,
    order_service_pb2_grpc,
    solution_pb2,
    solution_service_pb2,
    solution_service_pb2_grpc,
)
from tests.auth.sessions import claims_of, exchange, partner_token, session_token
from tests.auth.support import bearer, code_and_reason

PLAN = TripPlan.sample(datetime.now(UTC).date())
pytestmark = pytest.mark.usefixtures("quiet_partners")


def solutions(channel: grpc.aio.Channel) -> Any:
    return solution_service_pb2_grpc.SolutionServiceStub(channel)


def orders(channel: grpc.aio.Channel) -> Any:
    return order_service_pb2_grpc.OrderServiceStub(channel)


async def refusal(call: Any) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return code_and_reason(caught.value)


async def stream_refusal(stream: Any) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async for _ in stream:
            pass
    return code_and_reason(caught.value)


def composing(request_id: str) -> solution_service_pb2.ComposeSolutionRequest:
    request = compose_request("roaming", PLAN, request_id=request_id)
    request.entry.partner_id = ""  # the token says who acts
    return request


async def compose(channel: grpc.aio.Channel, token: str, request_id: str) -> solution_pb2.Solution:
    response = await solutions(channel).ComposeSolution(
        composing(request_id), timeout=15, metadata=bearer(token)
    )
    solution: solution_pb2.Solution = response.solution
    return solution


async def book(
    channel: grpc.aio.Channel, token: str, solution_id: str, request_id: str
) -> order_pb2.Order:
    response = await orders(channel).BookSolution(
        book_request(solution_id, PLAN, request_id), timeout=30, metadata=bearer(token)
    )
    order: order_pb2.Order = response.order
    return order


@pytest.fixture
def issuer(auth_gateway: RunningGateway) -> str:
    assert auth_gateway.issuer_url is not None
    return auth_gateway.issuer_url


async def test_the_exchanged_token_is_short_lived_for_one_pseudonymous_session(
    http: httpx2.AsyncClient, issuer: str
) -> None:
    own = await partner_token(http, issuer, "telecom-cn")
    response = await exchange(http, issuer, "telecom-cn", own)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["issued_token_type"] == "urn:ietf:params:oauth:token-type:access_token"
    assert body["token_type"] == "Bearer"
    assert response.headers["cache-control"] == "no-store"
    claims = claims_of(body["access_token"])

    assert claims["exp"] - claims["iat"] <= 15 * 60
    assert claims["aud"] == "urn:partner-gateway"
    assert claims["act"] == {"sub": "telecom-cn"}
    assert claims["client_id"] == "telecom-cn"
    assert claims["sub"].startswith("cs_")
    assert claims["sub"] != claims_of(own)["sub"]
    assert set(claims["scope"].split()) == {
        "solutions:compose",
        "solutions:read",
        "orders:write",
        "orders:read",
    }
    # A new session each time: sessions are not linkable by their subject.
    again = await session_token(http, issuer)
    assert claims_of(again)["sub"] != claims["sub"]
    with pytest.raises(ValidationError):
        TokenIssuerSettings(session_token_ttl_s=15 * 60 + 1)


async def test_a_session_token_composes_reads_books_and_watches_its_own_session(
    auth_channel: grpc.aio.Channel, http: httpx2.AsyncClient, issuer: str
) -> None:
    token = await session_token(http, issuer)
    session = claims_of(token)["sub"]

    solution = await compose(auth_channel, token, "xs-own-1")
    assert solution.entry.partner_id == "telecom-cn"
    assert solution.customer_session == session
    got = await solutions(auth_channel).GetSolution(
        solution_service_pb2.GetSolutionRequest(solution_id=solution.solution_id),
        timeout=10,
        metadata=bearer(token),
    )
    assert got.solution.solution_id == solution.solution_id

    order = await book(auth_channel, token, solution.solution_id, "xs-own-book-1")
    watch = order_service_pb2.WatchOrderRequest(order_id=order.order_id)
    events = [e async for e in orders(auth_channel).WatchOrder(watch, metadata=bearer(token))]
    assert events[-1].event.order_state == order_pb2.ORDER_STATE_CONFIRMED
    final = await orders(auth_channel).GetOrder(
        order_service_pb2.GetOrderRequest(order_id=order.order_id),
        timeout=10,
        metadata=bearer(token),
    )
    assert final.order.partner_id == "telecom-cn"  # the partner owns it, for its own systems
    assert all(c.reference for c in final.order.components)


async def test_another_sessions_objects_are_not_found_and_the_attempt_is_audited(
    auth_channel: grpc.aio.Channel,
    http: httpx2.AsyncClient,
    issuer: str,
    auth_gateway: RunningGateway,
) -> None:
    mine = await session_token(http, issuer)
    theirs = await session_token(http, issuer)
    solution = await compose(auth_channel, theirs, "xs-theirs-1")
    order = await book(auth_channel, theirs, solution.solution_id, "xs-theirs-book-1")
    # The partner's own solution is no session's either.
    partner = await partner_token(http, issuer, "telecom-cn")
    partners_own = await compose(auth_channel, partner, "xs-partner-1")
    before = await last_seq(auth_gateway.store)

    for solution_id in (solution.solution_id, partners_own.solution_id):
        get = solutions(auth_channel).GetSolution(
            solution_service_pb2.GetSolutionRequest(solution_id=solution_id),
            timeout=10,
            metadata=bearer(mine),
        )
        assert await refusal(get) == (grpc.StatusCode.NOT_FOUND, "NOT_FOUND")
        booking = orders(auth_channel).BookSolution(
            book_request(solution_id, PLAN, f"xs-steal-{solution_id}"),
            timeout=10,
            metadata=bearer(mine),
        )
        assert await refusal(booking) == (grpc.StatusCode.NOT_FOUND, "NOT_FOUND")
    read = orders(auth_channel).GetOrder(
        order_service_pb2.GetOrderRequest(order_id=order.order_id),
        timeout=10,
        metadata=bearer(mine),
    )
    assert await refusal(read) == (grpc.StatusCode.NOT_FOUND, "NOT_FOUND")
    watch = orders(auth_channel).WatchOrder(
        order_service_pb2.WatchOrderRequest(order_id=order.order_id),
        timeout=10,
        metadata=bearer(mine),
    )
    assert await stream_refusal(watch) == (grpc.StatusCode.NOT_FOUND, "NOT_FOUND")
    # Replaying the other session's request id tells nothing of its solution.
    replay = solutions(auth_channel).ComposeSolution(
        composing("xs-theirs-1"), timeout=10, metadata=bearer(mine)
    )
    assert await refusal(replay) == (grpc.StatusCode.INVALID_ARGUMENT, "REQUEST_ID_REUSED")

    actor = f"telecom-cn/{claims_of(mine)['sub']}"
    audited = {
        (e.record.actor, e.record.subject, e.record.outcome)
        for e in await auth_gateway.store.audit_entries(before, 1000)
    }
    assert (actor, solution.solution_id, "denied") in audited
    assert (actor, partners_own.solution_id, "denied") in audited
    assert (actor, order.order_id, "denied") in audited


async def test_a_session_token_is_refused_on_partner_only_rpcs(
    auth_channel: grpc.aio.Channel, http: httpx2.AsyncClient, issuer: str
) -> None:
    token = await session_token(http, issuer)
    solution = await compose(auth_channel, token, "xs-partner-only-1")
    order = await book(auth_channel, token, solution.solution_id, "xs-partner-only-book-1")
    feedback = feedback_service_pb2_grpc.FeedbackServiceStub(auth_channel)
    consents = consent_service_pb2_grpc.ConsentServiceStub(auth_channel)
    calls = {
        "ListOrders": (orders(auth_channel).ListOrders, order_service_pb2.ListOrdersRequest()),
        "CancelOrder": (
            orders(auth_channel).CancelOrder,
            order_service_pb2.CancelOrderRequest(
                request_id="xs-cancel", order_id=order.order_id, confirm=True
            ),
        ),
        "SubmitFeedback": (
            feedback.SubmitFeedback,
            feedback_service_pb2.SubmitFeedbackRequest(
                request_id="xs-fb", solution_id=solution.solution_id, score=9
            ),
        ),
        "GetKpiReport": (feedback.GetKpiReport, feedback_service_pb2.GetKpiReportRequest()),
        "GetConsent": (
            consents.GetConsent,
            consent_service_pb2.GetConsentRequest(consent_id=solution.consent_id),
        ),
        "WithdrawConsent": (
            consents.WithdrawConsent,
            consent_service_pb2.WithdrawConsentRequest(consent_id=solution.consent_id),
        ),
    }
    for name, (method, request) in calls.items():
        call = method(request, timeout=10, metadata=bearer(token))
        assert await refusal(call) == (grpc.StatusCode.PERMISSION_DENIED, "PARTNER_ONLY"), name
    # The partner itself still may: the order is its own.
    partner = await partner_token(http, issuer, "telecom-cn")
    listed = await orders(auth_channel).ListOrders(
        order_service_pb2.ListOrdersRequest(page_size=100), timeout=10, metadata=bearer(partner)
    )
    assert listed.orders


async def test_a_partner_cannot_exchange_for_what_its_token_does_not_hold(
    http: httpx2.AsyncClient, issuer: str
) -> None:
    narrow = await partner_token(http, issuer, "telecom-cn", "solutions:compose solutions:read")
    more = await exchange(http, issuer, "telecom-cn", narrow, scope="orders:write")
    assert (more.status_code, more.json()["error"]) == (400, "invalid_scope")
    # By default it gets what it holds of a session's scopes, nothing more.
    granted = await exchange(http, issuer, "telecom-cn", narrow)
    assert granted.json()["scope"] == "solutions:compose solutions:read"

    broad = await partner_token(http, issuer, "telecom-cn")
    for scope in ("kpis:read", "consents:write", "orders:read feedback:write"):
        refused = await exchange(http, issuer, "telecom-cn", broad, scope=scope)
        assert (refused.status_code, refused.json()["error"]) == (400, "invalid_scope"), scope

    # Another partner's token, a session token, a forged one: not the partner's to exchange.
    others = await partner_token(http, issuer, "car-a")
    stolen = await exchange(http, issuer, "telecom-cn", others)
    assert (stolen.status_code, stolen.json()["error"]) == (400, "invalid_grant")
    session = await session_token(http, issuer)
    chained = await exchange(http, issuer, "telecom-cn", session)
    assert (chained.status_code, chained.json()["error"]) == (400, "invalid_grant")
    forged = await exchange(http, issuer, "telecom-cn", broad[:-4] + "AAAA")
    assert (forged.status_code, forged.json()["error"]) == (400, "invalid_grant")
    elsewhere = await exchange(http, issuer, "telecom-cn", broad, audience="urn:elsewhere")
    assert (elsewhere.status_code, elsewhere.json()["error"]) == (400, "invalid_target")
    # The page never has the partner's secret: without client authentication, nothing.
    anonymous = await http.post(
        f"{issuer}/oauth/token",
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
            "subject_token": broad,
            "subject_token_type": "urn:ietf:params:oauth:token-type:access_token",
        },
    )
    assert (anonymous.status_code, anonymous.json()["error"]) == (401, "invalid_client")


@pytest.fixture
async def short_sessions(
    gateway_settings: GatewaySettings, tmp_path: Path
) -> AsyncIterator[RunningGateway]:
    """A gateway whose session tokens live two seconds, with no clock leeway."""
    issuer = gateway_settings.auth.issuer.model_copy(update={"session_token_ttl_s": 2})
    auth = AuthSettings(issuer=issuer, leeway_s=0)
    settings = gateway_settings.model_copy(update={"auth": auth, "state_dir": tmp_path})
    async with running_gateway(settings, "127.0.0.1:0") as running:
        yield running


async def test_a_session_token_is_refused_after_it_expires(
    short_sessions: RunningGateway, http: httpx2.AsyncClient
) -> None:
    assert short_sessions.issuer_url is not None
    token = await session_token(http, short_sessions.issuer_url)
    async with grpc.aio.insecure_channel(short_sessions.target) as channel:
        solution = await compose(channel, token, "xs-expiring-1")
        await asyncio.sleep(3)
        get = solutions(channel).GetSolution(
            solution_service_pb2.GetSolutionRequest(solution_id=solution.solution_id),
            timeout=10,
            metadata=bearer(token),
        )
        assert await refusal(get) == (grpc.StatusCode.UNAUTHENTICATED, "TOKEN_EXPIRED")
