"""The one contract from a browser, through a real Envoy in front of a real gateway: gRPC-Web
(unary and server streaming), HTTP/JSON transcoded from the google.api.http rules with a
customer-session token, errors as a JSON google.rpc.Status with its details, CORS for the
configured origins only — and native gRPC on the same listener."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import grpc
import httpx2
import pytest
from google.protobuf import json_format

from gateway.client.journeys import TripPlan, book_request, compose_request
from gateway.edge import RunningEnvoy, grpc_web_call
from gateway.runtime import RunningGateway
from partnergateway.v1 import (
    order_pb2,
    order_service_pb2,
    solution_service_pb2,
    solution_service_pb2_grpc,
)
from tests.auth.sessions import claims_of, partner_token, session_token
from tests.support import SandboxControl, bearer
from tests.web.conftest import ALLOWED_ORIGIN, FOREIGN_ORIGIN

PLAN = TripPlan.sample(datetime.now(UTC).date())
SLOW_PARTNER_MS = 400
SOLUTIONS = "/partnergateway.v1.SolutionService"
ORDERS = "/partnergateway.v1.OrderService"
pytestmark = pytest.mark.usefixtures("quiet")


def composing(
    request_id: str = "", language: str = "en"
) -> solution_service_pb2.ComposeSolutionRequest:
    request = compose_request("roaming", PLAN, request_id=request_id, language_code=language)
    request.entry.partner_id = ""  # the token says who acts
    return request


def as_json(message: Any) -> dict[str, Any]:
    body: dict[str, Any] = json_format.MessageToDict(message)
    return body


async def customer_token(web: httpx2.AsyncClient, gateway: RunningGateway) -> str:
    assert gateway.issuer_url is not None
    return await session_token(web, gateway.issuer_url)


def auth(token: str, **headers: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}", **headers}


# -- gRPC-Web ----------------------------------------------------------------------------------


async def test_grpc_web_unary_compose(
    edge: RunningEnvoy, web: httpx2.AsyncClient, gateway: RunningGateway
) -> None:
    token = await customer_token(web, gateway)
    reply = await grpc_web_call(
        web,
        edge.url,
        f"{SOLUTIONS}/ComposeSolution",
        composing(),
        token=token,
        origin=ALLOWED_ORIGIN,
    )

    assert reply.http_status == 200
    assert reply.headers["content-type"].startswith("application/grpc-web")
    assert reply.grpc_status == 0, reply.trailers
    assert reply.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    [body] = reply.messages
    solution = solution_service_pb2.ComposeSolutionResponse.FromString(body).solution
    assert [c.kind for c in solution.components] == ["connectivity", "flight", "insurance", "car"]
    assert solution.customer_session == claims_of(token)["sub"]


async def test_grpc_web_server_streaming_of_a_composition_and_an_order(
    edge: RunningEnvoy, web: httpx2.AsyncClient, gateway: RunningGateway, quiet: SandboxControl
) -> None:
    # The car firms answer late: the other components reach the browser before theirs.
    for car_firm in ("car-a", "car-b"):
        await quiet.set_knobs(car_firm, latency_ms=SLOW_PARTNER_MS)
    token = await customer_token(web, gateway)
    streamed = solution_service_pb2.StreamSolutionRequest.FromString(
        composing("web-stream-1").SerializeToString()
    )
    reply = await grpc_web_call(web, edge.url, f"{SOLUTIONS}/StreamSolution", streamed, token=token)

    assert reply.grpc_status == 0, reply.trailers
    updates = [solution_service_pb2.StreamSolutionResponse.FromString(m) for m in reply.messages]
    assert [u.WhichOneof("update") for u in updates] == ["component"] * 4 + ["solution"]
    assert updates[-2].component.kind == "car"
    # Streamed as they settled, not buffered until the end.
    assert reply.arrived_s[-1] - reply.arrived_s[0] > SLOW_PARTNER_MS / 1000 / 2
    solution = updates[-1].solution

    booked = await grpc_web_call(
        web,
        edge.url,
        f"{ORDERS}/BookSolution",
        book_request(solution.solution_id, PLAN, "web-stream-book-1"),
        token=token,
    )
    assert booked.grpc_status == 0, booked.trailers
    order = order_service_pb2.BookSolutionResponse.FromString(booked.messages[0]).order
    watched = await grpc_web_call(
        web,
        edge.url,
        f"{ORDERS}/WatchOrder",
        order_service_pb2.WatchOrderRequest(order_id=order.order_id),
        token=token,
    )
    assert watched.grpc_status == 0, watched.trailers
    events = [order_service_pb2.WatchOrderResponse.FromString(m).event for m in watched.messages]
    assert len(events) >= 4
    assert [e.sequence for e in events] == list(range(1, len(events) + 1))
    assert events[-1].order_state == order_pb2.ORDER_STATE_CONFIRMED


async def test_grpc_web_errors_carry_the_status_and_its_details(
    edge: RunningEnvoy, web: httpx2.AsyncClient
) -> None:
    reply = await grpc_web_call(web, edge.url, f"{SOLUTIONS}/ComposeSolution", composing())

    assert reply.grpc_status == grpc.StatusCode.UNAUTHENTICATED.value[0]
    assert reply.status().code == grpc.StatusCode.UNAUTHENTICATED.value[0]
    assert reply.status().details, "the ErrorInfo travels in grpc-status-details-bin"


async def test_native_grpc_shares_the_listener(
    edge: RunningEnvoy, web: httpx2.AsyncClient, gateway: RunningGateway
) -> None:
    assert gateway.issuer_url is not None
    token = await partner_token(web, gateway.issuer_url, "telecom-cn")
    async with grpc.aio.insecure_channel(edge.grpc_target) as channel:
        stub = solution_service_pb2_grpc.SolutionServiceStub(channel)
        response = await stub.ComposeSolution(composing(), timeout=15, metadata=bearer(token))
    assert len(response.solution.components) == 4
    assert response.solution.customer_session == ""  # the partner's own, no session's


# -- HTTP/JSON ---------------------------------------------------------------------------------


async def test_json_compose_get_book_and_watch_with_a_session_token(
    edge: RunningEnvoy, web: httpx2.AsyncClient, gateway: RunningGateway
) -> None:
    token = await customer_token(web, gateway)
    composed = await web.post(
        f"{edge.url}/v1/solutions:compose",
        json=as_json(composing("web-json-1", "zh-CN")),
        headers=auth(token, origin=ALLOWED_ORIGIN),
    )
    assert composed.status_code == 200, composed.text
    assert composed.headers["content-type"].startswith("application/json")
    assert composed.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    solution = composed.json()["solution"]
    assert solution["languageCode"] == "zh-CN"
    assert solution["components"][0]["status"] == "COMPONENT_STATUS_OK"
    assert solution["totalsText"]
    assert solution["totalsText"][0].startswith("¥")

    got = await web.get(f"{edge.url}/v1/solutions/{solution['solutionId']}", headers=auth(token))
    assert got.status_code == 200, got.text
    assert got.json()["solution"]["fingerprint"] == solution["fingerprint"]

    booking = as_json(book_request(solution["solutionId"], PLAN, "web-json-book-1"))
    booked = await web.post(f"{edge.url}/v1/orders", json=booking, headers=auth(token))
    assert booked.status_code == 200, booked.text
    order_id = booked.json()["order"]["orderId"]

    lines = []
    async with web.stream(
        "GET", f"{edge.url}/v1/orders/{order_id}:watch", headers=auth(token)
    ) as watch:
        assert watch.status_code == 200
        async for line in watch.aiter_lines():
            if line.strip():
                lines.append(json.loads(line))
    assert lines, "one JSON object per event, one per line"
    assert lines[-1]["event"]["orderState"] == "ORDER_STATE_CONFIRMED"

    order = (await web.get(f"{edge.url}/v1/orders/{order_id}", headers=auth(token))).json()["order"]
    assert order["state"] == "ORDER_STATE_CONFIRMED"
    assert order["components"]
    assert all(c["reference"] for c in order["components"])

    # Another session of the same partner finds none of it.
    stranger = await customer_token(web, gateway)
    hidden = await web.get(f"{edge.url}/v1/orders/{order_id}", headers=auth(stranger))
    assert hidden.status_code == 404
    assert hidden.json()["code"] == grpc.StatusCode.NOT_FOUND.value[0]


async def test_a_json_error_is_a_google_rpc_status_with_its_bad_request(
    edge: RunningEnvoy, web: httpx2.AsyncClient, gateway: RunningGateway
) -> None:
    token = await customer_token(web, gateway)
    bad = as_json(composing("web-bad-1"))
    bad["travellers"] = []
    bad["languageCode"] = "not a language!"

    response = await web.post(f"{edge.url}/v1/solutions:compose", json=bad, headers=auth(token))

    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/json")
    status = response.json()
    assert status["code"] == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    details = {d["@type"]: d for d in status["details"]}
    info = details["type.googleapis.com/google.rpc.ErrorInfo"]
    assert (info["reason"], info["domain"]) == ("INVALID_REQUEST", "partnergateway.v1")
    violations = details["type.googleapis.com/google.rpc.BadRequest"]["fieldViolations"]
    assert {"travellers", "language_code"} <= {v["field"] for v in violations}

    refused = await web.post(f"{edge.url}/v1/solutions:compose", json=as_json(composing()))
    assert refused.status_code == 401
    assert refused.json()["details"][0]["reason"] == "TOKEN_MISSING"

    # A path no rule maps is Envoy's 404; it never reaches a replica that speaks only gRPC.
    unknown = await web.get(f"{edge.url}/v1/nothing-here", headers=auth(token))
    assert unknown.status_code == 404


async def test_a_session_token_is_refused_on_partner_only_routes(
    edge: RunningEnvoy, web: httpx2.AsyncClient, gateway: RunningGateway
) -> None:
    token = await customer_token(web, gateway)
    for method, path in [("GET", "/v1/orders"), ("GET", "/v1/kpis")]:
        response = await web.request(method, f"{edge.url}{path}", headers=auth(token))
        assert response.status_code == 403, path
        assert response.json()["details"][0]["reason"] == "PARTNER_ONLY"


# -- CORS --------------------------------------------------------------------------------------


def preflight(origin: str) -> dict[str, str]:
    return {
        "origin": origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization,content-type",
    }


async def test_cors_preflight_is_allowed_for_a_configured_origin(
    edge: RunningEnvoy, web: httpx2.AsyncClient
) -> None:
    for path in ("/v1/solutions:compose", f"{SOLUTIONS}/ComposeSolution"):
        response = await web.options(f"{edge.url}{path}", headers=preflight(ALLOWED_ORIGIN))
        assert response.status_code == 200, path
        assert response.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
        allowed = {h.strip() for h in response.headers["access-control-allow-headers"].split(",")}
        assert {"authorization", "content-type", "x-grpc-web"} <= allowed
        assert "POST" in response.headers["access-control-allow-methods"]


async def test_cors_preflight_is_refused_for_another_origin(
    edge: RunningEnvoy, web: httpx2.AsyncClient, gateway: RunningGateway
) -> None:
    response = await web.options(
        f"{edge.url}/v1/solutions:compose", headers=preflight(FOREIGN_ORIGIN)
    )
    # Answered by Envoy itself (no replica sees it), without the one header a browser needs.
    assert response.status_code == 200
    assert response.headers["server"] == "envoy"
    assert "access-control-allow-origin" not in response.headers
    # And a request sent anyway (a browser would not let the page read it) says nothing either.
    token = await customer_token(web, gateway)
    sent = await web.post(
        f"{edge.url}/v1/solutions:compose",
        json=as_json(composing()),
        headers=auth(token, origin=FOREIGN_ORIGIN),
    )
    assert "access-control-allow-origin" not in sent.headers


async def test_the_compose_stack_mounts_the_descriptor_set_envoy_reads() -> None:
    from gateway.edge import DESCRIPTOR_SET, ENVOY_CONFIG, load_envoy_config
    from tests.deploy.stack import load_yaml

    config = load_envoy_config()
    [listener] = [i for i in config["static_resources"]["listeners"] if i["name"] == "grpc_ingress"]
    filters = listener["filter_chains"][0]["filters"][0]["typed_config"]["http_filters"]
    [transcoder] = [f for f in filters if f["name"] == "envoy.filters.http.grpc_json_transcoder"]
    path = transcoder["typed_config"]["proto_descriptor"]
    envoy = load_yaml("compose.yaml")["services"]["envoy"]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in envoy["volumes"]}
    assert (ENVOY_CONFIG.parent / mounts[path]).resolve() == DESCRIPTOR_SET.resolve()
    assert transcoder["typed_config"]["convert_grpc_status"] is True
