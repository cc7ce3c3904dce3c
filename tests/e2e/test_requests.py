"""Bad input is refused before any partner is asked; request ids make replays safe."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import grpc
import pytest

from gateway.client.credentials import PartnerTokens
from gateway.client.journeys import Person, TripPlan, compose_request, full_consent
from gateway.settings import GatewaySettings
from partnergateway.v1 import (
    consent_pb2,
    order_service_pb2,
    order_service_pb2_grpc,
    solution_service_pb2,
    solution_service_pb2_grpc,
)
from tests.support import SandboxControl, Stub, bearer, error_info, rich_status, violated_fields

TODAY = datetime.now(UTC).date()
PLAN = TripPlan.sample(TODAY)


async def refused(
    stub: Stub,
    request: solution_service_pb2.ComposeSolutionRequest,
    metadata: tuple[tuple[str, str], ...] = (),
) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.ComposeSolution(request, timeout=5, metadata=metadata)
    return caught.value


async def assert_no_partner_called(control: SandboxControl) -> None:
    for partner_id in control.base_urls:
        assert await control.count(partner_id, "quote") == 0, partner_id


def _request(
    kind: str = "roaming", plan: TripPlan = PLAN
) -> solution_service_pb2.ComposeSolutionRequest:
    return compose_request(kind, plan)


def _unknown_region() -> solution_service_pb2.ComposeSolutionRequest:
    request = _request("roaming")
    request.entry.roaming.destination_region_code = "ZZ"
    return request


def _return_before_departure() -> solution_service_pb2.ComposeSolutionRequest:
    return _request("flight", TripPlan("JP", "NRT", PLAN.depart, PLAN.depart - timedelta(days=1)))


def _ten_travellers() -> solution_service_pb2.ComposeSolutionRequest:
    people = tuple(Person("Wei", "Li", TODAY - timedelta(days=30 * 365)) for _ in range(10))
    return _request("insurance", TripPlan("JP", "NRT", PLAN.depart, PLAN.back, people))


def _children_alone() -> solution_service_pb2.ComposeSolutionRequest:
    kids = (Person("Xiaoyu", "Li", TODAY - timedelta(days=9 * 365)),)
    return _request("roaming", TripPlan("JP", "NRT", PLAN.depart, PLAN.back, kids))


def _empty_entry() -> solution_service_pb2.ComposeSolutionRequest:
    request = _request()
    request.ClearField("entry")
    return request


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (_unknown_region, "entry.roaming.destination_region_code"),
        (_return_before_departure, "entry.flight.return_date"),
        (_ten_travellers, "travellers"),
        (_empty_entry, "entry"),
        (_children_alone, "travellers"),
    ],
)
async def test_invalid_input_is_refused_with_field_violations(
    stub: Stub,
    control: SandboxControl,
    build: object,
    field: str,
) -> None:
    assert callable(build)
    error = await refused(stub, build())

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    status = rich_status(error)
    assert error_info(status).reason == "INVALID_REQUEST"
    assert field in violated_fields(status)
    await assert_no_partner_called(control)


async def test_every_problem_is_reported_at_once(
    stub: Stub,
) -> None:
    request = _request("flight")
    request.entry.flight.origin_airport = "XXX"
    request.travellers[0].given_name = ""
    request.language_code = "not a tag!"

    status = rich_status(await refused(stub, request))

    assert {"entry.flight.origin_airport", "travellers[0].given_name", "language_code"} <= (
        violated_fields(status)
    )


# Outside google.protobuf.Timestamp's range: seconds past 9999-12-31T23:59:59Z (or far past
# int64 dates), or nanos outside 0..999,999,999. The consent's time is otherwise valid.
OUT_OF_RANGE_TIMES = [(2**62, 0), (253_402_300_800, 0), (-62_135_596_801, 0)]
OUT_OF_RANGE_NANOS = [-5, 2_000_000_000]


def _consent_given_at(seconds: int | None = None, nanos: int | None = None) -> consent_pb2.Consent:
    consent = full_consent()
    if seconds is not None:
        consent.give_time.seconds = seconds
    if nanos is not None:
        consent.give_time.nanos = nanos
    return consent


@pytest.mark.parametrize(
    ("seconds", "nanos"),
    [*OUT_OF_RANGE_TIMES, *((None, nanos) for nanos in OUT_OF_RANGE_NANOS)],
)
async def test_an_out_of_range_consent_time_is_a_field_violation(
    stub: Stub, control: SandboxControl, seconds: int | None, nanos: int | None
) -> None:
    request = compose_request("roaming", PLAN, consent=_consent_given_at(seconds, nanos))

    error = await refused(stub, request)

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, (error.code(), error.details())
    status = rich_status(error)
    assert error_info(status).reason == "INVALID_REQUEST"
    assert violated_fields(status) == {"consent.give_time"}
    await assert_no_partner_called(control)


async def test_a_streamed_composition_range_checks_the_consent_time_too(stub: Stub) -> None:
    request = compose_request("roaming", PLAN, consent=_consent_given_at(nanos=-5))
    streamed = solution_service_pb2.StreamSolutionRequest.FromString(request.SerializeToString())

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async for _update in stub.StreamSolution(streamed, timeout=5):
            pass

    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(rich_status(caught.value)) == {"consent.give_time"}


def _forged_page_token(created: str) -> str:
    return base64.urlsafe_b64encode(f"{created}|ord_x".encode()).decode()


@pytest.mark.parametrize(
    "created",
    [
        "9999-12-31T23:59:59-14:00",  # past the last representable UTC moment
        "0001-01-01T00:00:00+14:00",  # before the first
        "2027-01-01T00:00:00",  # no time zone
    ],
)
async def test_a_forged_page_token_is_a_field_violation(
    channel: grpc.aio.Channel, created: str
) -> None:
    orders = order_service_pb2_grpc.OrderServiceStub(channel)
    request = order_service_pb2.ListOrdersRequest(
        partner_id="airline-a", page_token=_forged_page_token(created)
    )

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await orders.ListOrders(request, timeout=5)

    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT, caught.value.details()
    assert violated_fields(rich_status(caught.value)) == {"page_token"}


async def test_entry_partner_must_be_registered_and_of_the_right_kind(
    stub: Stub, tokens: PartnerTokens, channel_without_auth: grpc.aio.Channel
) -> None:
    wrong_kind = compose_request("flight", PLAN, partner_id="car-a")
    status = rich_status(await refused(stub, wrong_kind))
    assert "entry.partner_id" in violated_fields(status)

    # No unregistered partner gets a token; naming one with another's token is refused first.
    unknown = compose_request("flight", PLAN, partner_id="airline-zz")
    error = await refused(stub, unknown, bearer(await tokens.token("airline-a")))
    assert (error.code(), error_info(rich_status(error)).reason) == (
        grpc.StatusCode.PERMISSION_DENIED,
        "PARTNER_MISMATCH",
    )
    # Without authentication, the name the request gives is checked.
    anonymous: Stub = solution_service_pb2_grpc.SolutionServiceStub(channel_without_auth)
    status = rich_status(await refused(anonymous, unknown))
    assert "entry.partner_id" in violated_fields(status)


async def test_replay_returns_the_first_solution_and_asks_no_partner(
    stub: Stub, control: SandboxControl
) -> None:
    request = compose_request("roaming", PLAN, request_id="replay-1")
    first = await stub.ComposeSolution(request, timeout=10)
    await control.clear_ledgers()

    again = await stub.ComposeSolution(request, timeout=10)

    assert again.solution == first.solution
    await assert_no_partner_called(control)


async def test_concurrent_replays_share_one_composition(
    stub: Stub, control: SandboxControl
) -> None:
    import asyncio

    request = compose_request("car", PLAN, request_id="replay-concurrent")
    answers = await asyncio.gather(*(stub.ComposeSolution(request, timeout=10) for _ in range(5)))

    assert len({a.solution.solution_id for a in answers}) == 1
    assert await control.count("airline-a", "quote") == 1


async def test_request_id_reused_with_other_content_is_refused(
    stub: Stub,
) -> None:
    await stub.ComposeSolution(compose_request("roaming", PLAN, request_id="reuse-1"), timeout=10)
    other = TripPlan("TH", "BKK", PLAN.depart, PLAN.back)

    error = await refused(stub, compose_request("roaming", other, request_id="reuse-1"))

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_info(rich_status(error)).reason == "REQUEST_ID_REUSED"


async def test_a_request_over_the_message_size_limit_is_refused_unread(
    stub: Stub, control: SandboxControl, gateway_settings: GatewaySettings
) -> None:
    request = _request()
    request.travellers[0].given_name = "x" * gateway_settings.server.max_message_bytes

    error = await refused(stub, request)

    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    await assert_no_partner_called(control)
    assert (await stub.ComposeSolution(_request(), timeout=10)).solution.solution_id
