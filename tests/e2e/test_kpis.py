"""Customer KPIs end to end: after a known sequence of compositions, bookings and feedback,
the report has exactly the expected take-up and NPS. Tests that count have a gateway of their
own (a fresh state directory), so every count is exact."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from gateway.client import GatewayClient
from gateway.runtime import RunningGateway, running_gateway
from gateway.settings import GatewaySettings
from partnergateway.v1 import (
    feedback_pb2,
    feedback_service_pb2,
    feedback_service_pb2_grpc,
    order_pb2,
    order_service_pb2,
    order_service_pb2_grpc,
    solution_pb2,
)
from tests.e2e.booking_support import book, compose_solution, final_order
from tests.support import (
    SandboxControl,
    Stub,
    error_info,
    rich_status,
    token_channel,
    violated_fields,
    write_client_config,
)

RECIPE = "travel_abroad@1"
FEEDBACK_SERVICE = "partnergateway.v1.FeedbackService"


@pytest.fixture
async def own_gateway(
    gateway_settings: GatewaySettings, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RunningGateway]:
    """A gateway of its own, whose store holds nothing yet."""
    settings = gateway_settings.model_copy(update={"state_dir": tmp_path_factory.mktemp("kpis")})
    async with running_gateway(settings, "127.0.0.1:0") as running:
        yield running


@pytest.fixture
async def own_channel(
    own_gateway: RunningGateway, gateway_settings: GatewaySettings
) -> AsyncIterator[grpc.aio.Channel]:
    async with token_channel(gateway_settings, own_gateway) as channel:
        yield channel


async def submit(
    channel: grpc.aio.Channel,
    request_id: str,
    score: int | None,
    *,
    solution: solution_pb2.Solution | None = None,
    order: order_pb2.Order | None = None,
    partner_id: str | None = None,
    comment: str = "",
) -> feedback_pb2.Feedback:
    request = feedback_service_pb2.SubmitFeedbackRequest(
        request_id=request_id, score=score, comment=comment
    )
    if solution is not None:
        request.solution_id = solution.solution_id
        request.partner_id = partner_id or solution.entry.partner_id
    if order is not None:
        request.order_id = order.order_id
        request.partner_id = partner_id or order.partner_id
    stub = feedback_service_pb2_grpc.FeedbackServiceStub(channel)
    response = await stub.SubmitFeedback(request, timeout=10)
    feedback: feedback_pb2.Feedback = response.feedback
    return feedback


async def report(
    channel: grpc.aio.Channel, partner_id: str = "", recipe: str = ""
) -> list[feedback_pb2.KpiRow]:
    stub = feedback_service_pb2_grpc.FeedbackServiceStub(channel)
    response = await stub.GetKpiReport(
        feedback_service_pb2.GetKpiReportRequest(partner_id=partner_id, recipe=recipe), timeout=10
    )
    return list(response.rows)


def counts(row: feedback_pb2.KpiRow) -> tuple[Any, ...]:
    return (
        row.entry_partner_id,
        row.recipe,
        row.solutions_offered,
        row.solutions_booked,
        row.responses,
        row.promoters,
        row.passives,
        row.detractors,
    )


def partner_of(solution: solution_pb2.Solution, kind: str) -> str:
    return next(c.offer.partner_id for c in solution.components if c.kind == kind)


async def cli(*args: str) -> tuple[int, str, str]:
    """The command line, without blocking the loop the gateway under test runs on."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "COLUMNS": "200"},
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_take_up_and_nps_have_exactly_the_expected_values(
    own_gateway: RunningGateway,
    own_channel: grpc.aio.Channel,
    gateway_settings: GatewaySettings,
    control: SandboxControl,
    stub: Stub,
    tmp_path: Path,
) -> None:
    channel, target = own_channel, own_gateway.target
    config = str(write_client_config(gateway_settings, own_gateway, tmp_path / "cli.yaml"))
    # telecom-cn (roaming entry) offers three solutions, airline-a (flight entry) two.
    t1, t2, t3 = [await compose_solution(channel, "roaming") for _ in range(3)]
    a1, a2 = [await compose_solution(channel, "flight") for _ in range(2)]
    assert {s.recipe for s in (t1, t2, t3, a1, a2)} == {RECIPE}

    # telecom-cn: t1 confirmed; t2 confirmed, then cancelled (it was taken up all the same);
    # t3 never booked. Take-up 2/3.
    o1 = await book(channel, t1, "kpi-book-t1")
    o2 = await book(channel, t2, "kpi-book-t2")
    assert (o1.state, o2.state) == (order_pb2.ORDER_STATE_CONFIRMED,) * 2
    orders = order_service_pb2_grpc.OrderServiceStub(channel)
    await orders.CancelOrder(
        order_service_pb2.CancelOrderRequest(
            request_id="kpi-cancel-t2", order_id=o2.order_id, partner_id="telecom-cn", confirm=True
        ),
        timeout=30,
    )
    cancelled = await final_order(channel, o2.order_id, "telecom-cn")
    assert cancelled.state == order_pb2.ORDER_STATE_CANCELLED
    # airline-a: a1's booking fails (nothing booked, it does not count); a2 is partially
    # confirmed, which counts. Take-up 1/2.
    await control.set_knobs(
        partner_of(a1, "insurance"), fail_next=[{"operation": "hold", "status": 409, "count": 1}]
    )
    failed = await book(channel, a1, "kpi-book-a1")
    assert failed.state == order_pb2.ORDER_STATE_COMPENSATED
    await control.set_knobs(
        partner_of(a2, "connectivity"), fail_next=[{"operation": "hold", "status": 409}]
    )
    partial = await book(channel, a2, "kpi-book-a2", accept_partial=True)
    assert partial.state == order_pb2.ORDER_STATE_PARTIALLY_CONFIRMED

    # telecom-cn: 10 and 7 on t1, 9 on t2's (cancelled) order, 4 on t3 through the CLI.
    # 2 promoters, 1 passive, 1 detractor: NPS (2 - 1) / 4 * 100 = 25.
    await submit(channel, "kpi-fb-1", 10, solution=t1)
    await submit(channel, "kpi-fb-2", 7, solution=t1, comment="The car was late.")
    on_order = await submit(channel, "kpi-fb-3", 9, order=o2)
    assert (on_order.solution_id, on_order.order_id) == (t2.solution_id, o2.order_id)
    code, out, err = await cli(
        "feedback",
        "--solution",
        t3.solution_id,
        "--score",
        "4",
        "--partner",
        "telecom-cn",
        "--target",
        target,
        "--config",
        config,
    )
    assert code == 0, err
    assert "score 4" in out
    # airline-a: 0 on a1, 6 on a2's order. 2 detractors: NPS -100.
    await submit(channel, "kpi-fb-5", 0, solution=a1)
    await submit(channel, "kpi-fb-6", 6, order=partial)

    # Each partner reads its own rows (its token says who asks).
    rows = [*await report(channel, "airline-a"), *await report(channel, "telecom-cn")]

    assert [counts(r) for r in rows] == [
        ("airline-a", RECIPE, 2, 1, 2, 0, 0, 2),
        ("telecom-cn", RECIPE, 3, 2, 4, 2, 1, 1),
    ]
    assert [r.take_up for r in rows] == [0.5, 2 / 3]
    assert [r.nps for r in rows] == [-100.0, 25.0]
    # Naming no partner, the caller's rows; a recipe by name (every version) or name@version.
    assert [r.entry_partner_id for r in await report(channel)] == ["telecom-cn"]
    assert len(await report(channel, "airline-a", recipe="travel_abroad")) == 1
    assert len(await report(channel, "telecom-cn", recipe=RECIPE)) == 1
    assert await report(channel, "telecom-cn", recipe="travel_abroad@2") == []
    assert await report(channel, partner_id="insurer-a") == []

    printed = []
    for partner in ("airline-a", "telecom-cn"):
        code, out, err = await cli(
            "kpis", "--partner", partner, "--target", target, "--json", "--config", config
        )
        assert code == 0, err
        printed += [json.loads(line) for line in out.splitlines()]
    assert printed == [
        {
            "entry_partner": "airline-a",
            "recipe": RECIPE,
            "offered": 2,
            "booked": 1,
            "take_up": 0.5,
            "responses": 2,
            "promoters": 0,
            "passives": 0,
            "detractors": 2,
            "nps": -100.0,
        },
        {
            "entry_partner": "telecom-cn",
            "recipe": RECIPE,
            "offered": 3,
            "booked": 2,
            "take_up": 2 / 3,
            "responses": 4,
            "promoters": 2,
            "passives": 1,
            "detractors": 1,
            "nps": 25.0,
        },
    ]
    code, out, err = await cli(
        "kpis", "--partner", "telecom-cn", "--target", target, "--config", config
    )
    assert code == 0, err
    assert "telecom-cn" in out
    assert "+25.0" in out
    assert "airline-a" not in out


async def test_without_responses_nps_is_unset_not_zero(
    own_channel: grpc.aio.Channel, stub: Stub
) -> None:
    await compose_solution(own_channel, "roaming")

    [row] = await report(own_channel)

    assert counts(row) == ("telecom-cn", RECIPE, 1, 0, 0, 0, 0, 0)
    assert row.take_up == 0.0
    assert not row.HasField("nps")


@pytest.mark.parametrize(
    ("fields", "violated"),
    [
        ({"score": 11}, {"score"}),
        ({"score": -1}, {"score"}),
        ({"score": None}, {"score"}),  # absent is refused, not read as 0
        ({"comment": "x" * 2001}, {"comment"}),
        ({"request_id": ""}, {"request_id"}),
        ({"solution_id": None}, {"solution_id"}),
        ({"solution_id": ""}, {"solution_id"}),
        (
            {"score": 12, "comment": "x" * 2001, "request_id": ""},
            {"score", "comment", "request_id"},
        ),
    ],
)
async def test_invalid_feedback_is_refused_with_every_field_violation(
    channel: grpc.aio.Channel, stub: Stub, fields: dict[str, Any], violated: set[str]
) -> None:
    solution = await compose_solution(channel, "roaming")
    values = {
        "request_id": "kpi-invalid",
        "partner_id": solution.entry.partner_id,
        "solution_id": solution.solution_id,
        "score": 8,
        **fields,
    }
    request = feedback_service_pb2.SubmitFeedbackRequest(
        **{k: v for k, v in values.items() if v is not None}
    )
    feedback_stub = feedback_service_pb2_grpc.FeedbackServiceStub(channel)

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await feedback_stub.SubmitFeedback(request, timeout=10)

    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(rich_status(caught.value)) == violated


async def test_an_empty_partner_id_is_the_callers_and_without_tokens_a_violation(
    channel: grpc.aio.Channel,
    channel_without_auth: grpc.aio.Channel,
    stub: Stub,
    client: GatewayClient,
) -> None:
    def unnamed(solution: solution_pb2.Solution) -> feedback_service_pb2.SubmitFeedbackRequest:
        return feedback_service_pb2.SubmitFeedbackRequest(
            request_id="kpi-no-partner", solution_id=solution.solution_id, score=8
        )

    solution = await compose_solution(channel, "flight")
    entry_partner = client.for_partner(solution.entry.partner_id)
    response = await entry_partner.feedback.SubmitFeedback(unnamed(solution), timeout=10)
    assert response.feedback.partner_id == solution.entry.partner_id

    # Without authentication, nothing says who calls: the request must.
    anonymous = await compose_solution(channel_without_auth, "flight")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await feedback_service_pb2_grpc.FeedbackServiceStub(channel_without_auth).SubmitFeedback(
            unnamed(anonymous), timeout=10
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(rich_status(caught.value)) == {"partner_id"}


async def test_feedback_on_another_partners_solution_or_order_is_not_found(
    own_channel: grpc.aio.Channel, stub: Stub
) -> None:
    solution = await compose_solution(own_channel, "roaming")
    order = await book(own_channel, solution, "kpi-isolation")

    missing = solution_pb2.Solution(solution_id="sol-none")
    attempts: list[Callable[[], Awaitable[feedback_pb2.Feedback]]] = [
        lambda: submit(own_channel, "kpi-foreign-1", 10, solution=solution, partner_id="airline-a"),
        lambda: submit(own_channel, "kpi-foreign-2", 10, order=order, partner_id="airline-a"),
        lambda: submit(own_channel, "kpi-missing", 10, solution=missing, partner_id="telecom-cn"),
    ]
    for attempt in attempts:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await attempt()
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND
        assert error_info(rich_status(caught.value)).reason == "NOT_FOUND"
    [row] = await report(own_channel)
    assert row.responses == 0


async def test_a_replay_returns_the_first_feedback_and_a_reuse_is_refused(
    own_channel: grpc.aio.Channel, stub: Stub
) -> None:
    solution = await compose_solution(own_channel, "roaming")
    first = await submit(own_channel, "kpi-replay", 9, solution=solution, comment="Great")

    replays = await asyncio.gather(
        *(
            submit(own_channel, "kpi-replay", 9, solution=solution, comment="Great")
            for _ in range(5)
        )
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await submit(own_channel, "kpi-replay", 3, solution=solution, comment="Great")

    assert all(r == first for r in replays)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_info(rich_status(caught.value)).reason == "REQUEST_ID_REUSED"
    [row] = await report(own_channel)
    assert (row.responses, row.promoters) == (1, 1)


async def test_health_and_reflection_list_the_feedback_service(channel: grpc.aio.Channel) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    answer = await health.Check(health_pb2.HealthCheckRequest(service=FEEDBACK_SERVICE), timeout=5)
    assert answer.status == health_pb2.HealthCheckResponse.SERVING

    async def requests() -> AsyncIterator[reflection_pb2.ServerReflectionRequest]:
        yield reflection_pb2.ServerReflectionRequest(list_services="")

    reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
    async for listed in reflection.ServerReflectionInfo(requests(), timeout=5):
        assert FEEDBACK_SERVICE in {s.name for s in listed.list_services_response.service}
        break
