"""Fuzzing the gateway through real gRPC: whatever the request holds — strings long or short,
ASCII or not, impossible dates, any entry kind, any number of travellers — the answer is never
INTERNAL or UNKNOWN, and the gateway stays healthy. Each call carries the token of the
partner it names, when that partner can get one, so random requests get as far as a
partner's own would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import grpc
from google.protobuf import message
from google.type import date_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.client.credentials import PartnerTokens
from gateway.client.journeys import ENTRY_KINDS, TripPlan, compose_request
from gateway.errors import ERROR_DOMAIN
from gateway.validation import MAX_NAME_LENGTH
from partnergateway.v1 import (
    consent_pb2,
    consent_service_pb2,
    consent_service_pb2_grpc,
    entry_pb2,
    feedback_service_pb2,
    feedback_service_pb2_grpc,
    order_service_pb2,
    order_service_pb2_grpc,
    solution_service_pb2,
)
from tests.support import DEFAULT_PARTNER, Stub, bearer, error_info

TODAY = datetime.now(UTC).date()
PLAN = TripPlan.sample(TODAY)
FORBIDDEN = {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN}
Metadata = tuple[tuple[str, str], ...]
FUZZ = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Protobuf strings are UTF-8: anything but lone surrogates.
_characters = st.characters(exclude_categories=["Cs"])
_plausible = st.sampled_from(
    [
        "",
        " ",
        "JP",
        "CN",
        "ZZ",
        "NRT",
        "PVG",
        "nrt",
        "telecom-cn",
        "airline-a",
        "insurer-a",
        "car-a",
        "+8613800138000",
        "en",
        "zh-Hans-CN",
        "李",
        "Ωmega",
        "\x00",
        "../../etc/passwd",
        "'; DROP TABLE orders; --",
    ]
)
_long = st.builds(lambda c, n: c * n, _characters, st.integers(1_000, 100_000))
sometimes = st.sampled_from([True, False, False, False])
texts = st.one_of(_plausible, st.text(_characters, max_size=40), _long)
int32s = st.one_of(st.integers(-(2**31), 2**31 - 1), st.integers(-2, 40))
years = st.one_of(st.integers(-(2**31), 2**31 - 1), st.integers(0, 10_000), st.just(2027))


@st.composite
def dates(draw: st.DrawFn) -> date_pb2.Date:
    return date_pb2.Date(year=draw(years), month=draw(int32s), day=draw(int32s))


@st.composite
def travellers(draw: st.DrawFn) -> entry_pb2.Traveller:
    return entry_pb2.Traveller(
        given_name=draw(texts),
        family_name=draw(texts),
        birth_date=draw(dates()),
        residence_region_code=draw(texts),
        home_airport=draw(texts),
        driver=draw(st.booleans()),
        phone_number=draw(texts),
        passport_number=draw(texts),
        driving_licence_number=draw(texts),
    )


@st.composite
def consents(draw: st.DrawFn) -> consent_pb2.Consent:
    consent = consent_pb2.Consent(
        consent_id=draw(texts),
        purpose=draw(st.one_of(st.just("travel_abroad"), texts)),
        partner_ids=draw(st.lists(texts, max_size=40)),
        partner_kinds=draw(st.lists(st.one_of(st.just("airline"), texts), max_size=5)),
        notice_version=draw(texts),
    )
    if draw(st.booleans()):
        consent.give_time.FromSeconds(draw(st.integers(-62135596800, 253402300799)))
    return consent


@st.composite
def entries(draw: st.DrawFn) -> entry_pb2.EntryEvent:
    entry = entry_pb2.EntryEvent(partner_id=draw(texts))
    kind = draw(st.sampled_from(["roaming", "flight", "insurance", "car", None]))
    if kind == "roaming":
        entry.roaming.CopyFrom(
            entry_pb2.RoamingActivation(
                subscriber_number=draw(texts),
                destination_region_code=draw(texts),
                start_date=draw(dates()),
                end_date=draw(dates()),
            )
        )
    elif kind == "flight":
        entry.flight.CopyFrom(
            entry_pb2.FlightBooking(
                booking_reference=draw(texts),
                origin_airport=draw(texts),
                destination_airport=draw(texts),
                depart_date=draw(dates()),
                return_date=draw(dates()),
                passenger_count=draw(int32s),
            )
        )
    elif kind == "insurance":
        entry.insurance.CopyFrom(
            entry_pb2.InsurancePurchase(
                policy_number=draw(texts),
                destination_region_code=draw(texts),
                cover_start_date=draw(dates()),
                cover_end_date=draw(dates()),
                insured_count=draw(int32s),
            )
        )
    elif kind == "car":
        entry.car.CopyFrom(
            entry_pb2.CarRental(
                rental_reference=draw(texts),
                pickup_location=draw(texts),
                pickup_date=draw(dates()),
                return_date=draw(dates()),
            )
        )
    return entry


@st.composite
def random_compose_requests(draw: st.DrawFn) -> solution_service_pb2.ComposeSolutionRequest:
    request = solution_service_pb2.ComposeSolutionRequest(
        request_id=draw(texts),
        travellers=draw(st.lists(travellers(), min_size=0, max_size=12)),
        language_code=draw(texts),
    )
    if draw(st.booleans()):
        request.entry.CopyFrom(draw(entries()))
    if draw(st.booleans()):
        request.consent.CopyFrom(draw(consents()))
    return request


@st.composite
def near_valid_compose_requests(
    draw: st.DrawFn,
) -> solution_service_pb2.ComposeSolutionRequest:
    """The sample trip with a few fields changed: most pass validation and reach partners."""
    request = compose_request(draw(st.sampled_from(ENTRY_KINDS)), PLAN)
    names = st.text(_characters, min_size=1, max_size=MAX_NAME_LENGTH)
    for traveller in request.travellers:
        if draw(sometimes):
            traveller.given_name = draw(names)
        if draw(sometimes):
            traveller.family_name = draw(names)
        if draw(sometimes):
            traveller.birth_date.CopyFrom(draw(dates()))
    extra = draw(st.integers(0, 12 - len(request.travellers)))
    request.travellers.extend([request.travellers[0]] * extra)
    event = getattr(request.entry, request.entry.WhichOneof("event") or "")
    for field in event.DESCRIPTOR.fields:
        if field.message_type is not None and draw(sometimes):
            shift = draw(st.integers(-400, 400))
            day = TODAY + timedelta(days=shift)
            getattr(event, field.name).CopyFrom(
                date_pb2.Date(year=day.year, month=day.month, day=day.day)
            )
        elif field.type == field.TYPE_INT32 and draw(sometimes):
            setattr(event, field.name, draw(int32s))
    return request


compose_requests = st.one_of(random_compose_requests(), near_valid_compose_requests())
ids = st.one_of(_plausible, st.text(_characters, max_size=40), _long)


@st.composite
def id_requests(draw: st.DrawFn) -> tuple[str, message.Message]:
    """One of the requests that name objects by id, with random ids and partner ids."""
    method = draw(
        st.sampled_from(
            [
                "GetSolution",
                "BookSolution",
                "GetOrder",
                "ListOrders",
                "CancelOrder",
                "SubmitFeedback",
                "GetKpiReport",
                "GetConsent",
                "WithdrawConsent",
            ]
        )
    )
    request: message.Message
    if method == "GetSolution":
        request = solution_service_pb2.GetSolutionRequest(solution_id=draw(ids))
    elif method == "BookSolution":
        request = order_service_pb2.BookSolutionRequest(
            request_id=draw(ids),
            solution_id=draw(ids),
            accepted_components=draw(st.lists(texts, max_size=5)),
            partner_id=draw(ids),
            travellers=draw(st.lists(travellers(), max_size=12)),
        )
    elif method == "GetOrder":
        request = order_service_pb2.GetOrderRequest(order_id=draw(ids), partner_id=draw(ids))
    elif method == "ListOrders":
        request = order_service_pb2.ListOrdersRequest(
            partner_id=draw(ids), page_size=draw(int32s), page_token=draw(ids)
        )
    elif method == "CancelOrder":
        request = order_service_pb2.CancelOrderRequest(
            request_id=draw(ids),
            order_id=draw(ids),
            component_kinds=draw(st.lists(texts, max_size=5)),
            confirm=draw(st.booleans()),
            partner_id=draw(ids),
        )
    elif method == "SubmitFeedback":
        feedback = feedback_service_pb2.SubmitFeedbackRequest(
            request_id=draw(ids), partner_id=draw(ids), comment=draw(texts)
        )
        if draw(st.booleans()):
            feedback.score = draw(int32s)
        subject = draw(st.sampled_from(["solution_id", "order_id", None]))
        if subject is not None:
            setattr(feedback, subject, draw(ids))
        request = feedback
    elif method == "GetConsent":
        request = consent_service_pb2.GetConsentRequest(consent_id=draw(ids))
    elif method == "WithdrawConsent":
        request = consent_service_pb2.WithdrawConsentRequest(consent_id=draw(ids))
    else:
        request = feedback_service_pb2.GetKpiReportRequest(partner_id=draw(ids), recipe=draw(texts))
    return method, request


def assert_answered(error: grpc.aio.AioRpcError) -> None:
    """Not a crash, and a status the caller can read: the gateway's own google.rpc.Status
    (which has to fit the client's 8 KiB metadata limit), or gRPC's message-size refusal."""
    assert error.code() not in FORBIDDEN, (error.code(), error.details())
    if error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and "larger than max" in (
        error.details() or ""
    ):
        return
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None, (error.code(), error.details())
    assert error_info(status).domain == ERROR_DOMAIN


async def caller_token(tokens: PartnerTokens, request: message.Message) -> Metadata:
    """What the call carries: none of its own when the partner the request names can get a
    token (the channel adds it), else `DEFAULT_PARTNER`'s, which the gateway must refuse
    like any impostor's (for most random names, it does)."""
    partner = tokens.acting_partner(request)
    if partner is not None and tokens.can_act_as(partner):
        return ()
    return bearer(await tokens.token(DEFAULT_PARTNER))


async def assert_healthy(channel: grpc.aio.Channel) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    response = await health.Check(health_pb2.HealthCheckRequest(), timeout=5)
    assert response.status == health_pb2.HealthCheckResponse.SERVING


@FUZZ
@given(request=compose_requests)
async def test_compose_never_fails_internally(
    stub: Stub,
    channel: grpc.aio.Channel,
    tokens: PartnerTokens,
    request: solution_service_pb2.ComposeSolutionRequest,
) -> None:
    try:
        await stub.ComposeSolution(
            request, timeout=10, metadata=await caller_token(tokens, request)
        )
    except grpc.aio.AioRpcError as exc:
        assert_answered(exc)
    await assert_healthy(channel)


@FUZZ
@given(call=id_requests())
async def test_id_taking_rpcs_never_fail_internally(
    stub: Stub, channel: grpc.aio.Channel, tokens: PartnerTokens, call: tuple[str, message.Message]
) -> None:
    method, request = call
    orders = order_service_pb2_grpc.OrderServiceStub(channel)
    feedback = feedback_service_pb2_grpc.FeedbackServiceStub(channel)
    consents = consent_service_pb2_grpc.ConsentServiceStub(channel)
    target = {
        "GetSolution": stub.GetSolution,
        "BookSolution": orders.BookSolution,
        "GetOrder": orders.GetOrder,
        "ListOrders": orders.ListOrders,
        "CancelOrder": orders.CancelOrder,
        "SubmitFeedback": feedback.SubmitFeedback,
        "GetKpiReport": feedback.GetKpiReport,
        "GetConsent": consents.GetConsent,
        "WithdrawConsent": consents.WithdrawConsent,
    }[method]
    try:
        metadata = await caller_token(tokens, request)
        await target(request, timeout=10, metadata=metadata)  # type: ignore[operator]
    except grpc.aio.AioRpcError as exc:
        assert_answered(exc)
    await assert_healthy(channel)
