"""One trace across companies, metrics with exact values, JSON logs without personal data.

Spans go to an OTLP receiver in this process on loopback, over real OTLP/gRPC."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from gateway.cli.sandbox_link import link_to_sandbox
from gateway.client.journeys import Person, book_request, compose_request
from gateway.runtime import RunningGateway, running_gateway
from gateway.settings import GatewaySettings
from gateway.telemetry import (
    JsonFormatter,
    Telemetry,
    instrument_partner_http,
    setup_telemetry,
    traced_call,
    uninstrument_partner_http,
)
from partnergateway.v1 import (
    feedback_service_pb2,
    feedback_service_pb2_grpc,
    order_pb2,
    order_service_pb2_grpc,
    solution_service_pb2_grpc,
)
from sandbox import DEFAULT_PARTNERS, start_sandbox
from tests.e2e.booking_support import PLAN
from tests.support import token_channel


class Receiver(trace_service_pb2_grpc.TraceServiceServicer):
    """An OTLP trace receiver: keeps every span it is sent."""

    def __init__(self) -> None:
        self.spans: list[dict[str, Any]] = []
        self.arrived = asyncio.Event()

    async def Export(
        self, request: trace_service_pb2.ExportTraceServiceRequest, context: Any
    ) -> trace_service_pb2.ExportTraceServiceResponse:
        for resource_spans in request.resource_spans:
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    self.spans.append(
                        {
                            "name": span.name,
                            "trace_id": span.trace_id.hex(),
                            "span_id": span.span_id.hex(),
                            "parent": span.parent_span_id.hex(),
                            "kind": span.kind,
                            "attributes": {a.key: a.value for a in span.attributes},
                        }
                    )
        self.arrived.set()
        return trace_service_pb2.ExportTraceServiceResponse()


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, int]]:
    server = grpc.aio.server()
    collected = Receiver()
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(collected, server)  # type: ignore[no-untyped-call]
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    yield collected, port
    await server.stop(0)


@pytest.fixture
async def traced(
    receiver: tuple[Receiver, int], gateway_settings: GatewaySettings, tmp_path: Path
) -> AsyncIterator[tuple[RunningGateway, Telemetry, Receiver, InMemoryMetricReader]]:
    """Sandbox partners and a gateway of their own, both traced, exporting over OTLP."""
    collected, port = receiver
    reader = InMemoryMetricReader()
    telemetry = setup_telemetry(
        {
            "OTEL_TRACES_EXPORTER": "otlp",
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}",
            "OTEL_METRICS_EXPORTER": "none",
        },
        "psg-test",
        metric_readers=[reader],
    )
    instrument_partner_http(telemetry)
    try:
        async with await start_sandbox(
            DEFAULT_PARTNERS, tracer_provider=telemetry.tracer_provider
        ) as cluster:
            settings = link_to_sandbox(gateway_settings, cluster).model_copy(
                update={"state_dir": tmp_path}
            )
            async with running_gateway(settings, "127.0.0.1:0", telemetry=telemetry) as gateway:
                yield gateway, telemetry, collected, reader
    finally:
        uninstrument_partner_http()
        await asyncio.to_thread(telemetry.shutdown)


async def test_one_trace_from_the_caller_through_every_partner(
    traced: tuple[RunningGateway, Telemetry, Receiver, InMemoryMetricReader],
    gateway_settings: GatewaySettings,
) -> None:
    gateway, telemetry, collected, _ = traced
    async with token_channel(gateway_settings, gateway) as channel:
        stub = solution_service_pb2_grpc.SolutionServiceStub(channel)
        with traced_call(telemetry, "partner.entry") as (metadata, trace_id):
            await stub.ComposeSolution(
                compose_request("roaming", PLAN), metadata=metadata, timeout=10
            )
            health = health_pb2_grpc.HealthStub(channel)
            answer = await health.Check(health_pb2.HealthCheckRequest(), timeout=5)
            assert answer.status == health_pb2.HealthCheckResponse.SERVING
    # In a thread: the exporter sends to a receiver served by this very event loop.
    await asyncio.to_thread(telemetry.tracer_provider.force_flush)  # type: ignore[attr-defined]
    async with asyncio.timeout(10):
        await collected.arrived.wait()

    spans = [s for s in collected.spans if s["trace_id"] == trace_id]
    client = next(s for s in spans if s["name"] == "partner.entry")
    server = next(s for s in spans if s["name"].endswith("SolutionService/ComposeSolution"))
    assert server["parent"] == client["span_id"]  # the incoming traceparent was continued
    quotes = [s for s in spans if s["name"] == "partner.quote"]
    assert {s["attributes"]["partner.id"].string_value for s in quotes} == set(
        gateway.directory.kinds
    )
    for quote in quotes:
        assert quote["attributes"]["outcome"].string_value == "ok"
        http = [s for s in spans if s["parent"] == quote["span_id"] and s["kind"] == 3]  # CLIENT
        assert http, f"no HTTP client span under {quote['attributes']['partner.id']}"
        partner_side = [
            s for s in spans if s["parent"] in {h["span_id"] for h in http} and s["kind"] == 2
        ]
        assert partner_side, "the partner's server span did not join the trace"
    assert {s["trace_id"] for s in spans} == {trace_id}
    assert not [s for s in collected.spans if "Health" in s["name"]]


async def test_an_exporter_that_is_down_costs_spans_not_requests(
    gateway_settings: GatewaySettings, tmp_path: Path, stub: Any
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    telemetry = setup_telemetry(
        {
            "OTEL_TRACES_EXPORTER": "otlp",
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{closed}",
            "OTEL_EXPORTER_OTLP_TIMEOUT": "1",
            "OTEL_METRICS_EXPORTER": "none",
        },
        "psg-test",
    )
    settings = gateway_settings.model_copy(update={"state_dir": tmp_path})
    try:
        async with (
            running_gateway(settings, "127.0.0.1:0", telemetry=telemetry) as gateway,
            token_channel(settings, gateway) as channel,
        ):
            answers = [
                await solution_service_pb2_grpc.SolutionServiceStub(channel).ComposeSolution(
                    compose_request("flight", PLAN), timeout=10
                )
                for _ in range(3)
            ]
    finally:
        await asyncio.to_thread(telemetry.shutdown)
    assert len({a.solution.fingerprint for a in answers}) == 1


def _points(reader: InMemoryMetricReader, name: str) -> dict[frozenset[tuple[str, Any]], float]:
    data = reader.get_metrics_data()
    found: dict[frozenset[tuple[str, Any]], float] = {}
    for resource in data.resource_metrics if data else []:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name == name:
                    for point in metric.data.data_points:
                        value: Any = getattr(point, "value", None)
                        if value is None:  # a histogram: its number of samples
                            value = getattr(point, "count", 0)
                        found[frozenset((point.attributes or {}).items())] = float(value)
    return found


async def test_metrics_count_exactly_what_happened(
    traced: tuple[RunningGateway, Telemetry, Receiver, InMemoryMetricReader],
    gateway_settings: GatewaySettings,
) -> None:
    gateway, _, _, reader = traced
    async with token_channel(gateway_settings, gateway) as channel:
        solutions = solution_service_pb2_grpc.SolutionServiceStub(channel)
        composed = [
            (await solutions.ComposeSolution(compose_request(kind, PLAN), timeout=10)).solution
            for kind in ("roaming", "roaming", "car")
        ]
        bad = compose_request("roaming", PLAN)
        bad.entry.roaming.destination_region_code = "ZZ"
        with pytest.raises(grpc.aio.AioRpcError):
            await solutions.ComposeSolution(bad, timeout=10)
        orders = order_service_pb2_grpc.OrderServiceStub(channel)
        await orders.BookSolution(
            book_request(composed[0].solution_id, PLAN, "m-1", "telecom-cn"),
            timeout=30,
        )
        feedback = feedback_service_pb2_grpc.FeedbackServiceStub(channel)
        for request_id, score in (("f-1", 10), ("f-2", 3)):
            await feedback.SubmitFeedback(
                feedback_service_pb2.SubmitFeedbackRequest(
                    request_id=request_id,
                    partner_id="telecom-cn",
                    solution_id=composed[0].solution_id,
                    score=score,
                ),
                timeout=10,
            )

    rpcs = _points(reader, "psg.rpc.requests")
    method = "/partnergateway.v1.SolutionService/ComposeSolution"
    assert rpcs[frozenset({("rpc.method", method), ("rpc.grpc.status_code", "OK")})] == 3
    assert (
        rpcs[frozenset({("rpc.method", method), ("rpc.grpc.status_code", "INVALID_ARGUMENT")})] == 1
    )
    composed_counts = _points(reader, "psg.solutions.composed")
    assert (
        composed_counts[frozenset({("recipe", "travel_abroad"), ("entry.partner", "telecom-cn")})]
        == 2
    )
    assert (
        composed_counts[frozenset({("recipe", "travel_abroad"), ("entry.partner", "car-a")})] == 1
    )
    assert _points(reader, "psg.bookings.final") == {frozenset({("state", "confirmed")}): 1}
    telecom_trips = {("recipe", "travel_abroad"), ("entry.partner", "telecom-cn")}
    assert _points(reader, "psg.solutions.booked") == {frozenset(telecom_trips): 1}
    assert _points(reader, "psg.feedback.responses") == {
        frozenset({*telecom_trips, ("category", "promoter")}): 1,
        frozenset({*telecom_trips, ("category", "detractor")}): 1,
    }
    quotes = {
        dict(k)["partner.id"]: v
        for k, v in _points(reader, "psg.partner.calls").items()
        if dict(k)["operation"] == "quote" and dict(k)["outcome"] == "ok"
    }
    assert quotes == dict.fromkeys(gateway.directory.kinds, 3)
    tokens = {
        dict(k)["partner.id"]: v for k, v in _points(reader, "psg.partner.token_fetches").items()
    }
    assert tokens == dict.fromkeys(gateway.directory.kinds, 1)
    circuits = _points(reader, "psg.partner.circuit_state")
    assert set(circuits.values()) == {0}


async def test_log_lines_are_json_with_trace_ids_and_no_personal_data(
    traced: tuple[RunningGateway, Telemetry, Receiver, InMemoryMetricReader],
    gateway_settings: GatewaySettings,
) -> None:
    gateway, telemetry, _, _ = traced
    lines: list[str] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = Capture()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        async with token_channel(gateway_settings, gateway) as channel:
            stub = solution_service_pb2_grpc.SolutionServiceStub(channel)
            with traced_call(telemetry, "partner.entry") as (metadata, trace_id):
                await stub.ComposeSolution(
                    compose_request("flight", PLAN), metadata=metadata, timeout=10
                )
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)

    records = [json.loads(line) for line in lines]
    composed = [r for r in records if r["message"].startswith("composed ")]
    assert composed
    assert composed[0]["trace_id"] == trace_id
    assert composed[0]["span_id"]
    everything = "\n".join(lines)
    for person in PLAN.travellers:
        for secret in (person.given_name, person.family_name, person.birth_date.isoformat()):
            assert secret not in everything
        if person.phone_number:
            assert person.phone_number not in everything


async def test_no_personal_data_in_logs_spans_or_errors(
    traced: tuple[RunningGateway, Telemetry, Receiver, InMemoryMetricReader],
    gateway_settings: GatewaySettings,
) -> None:
    """A whole journey with personal data — compose, book, a refused booking — and then
    everything the gateway logged, every span exported and every error answer is scanned for
    the travellers' names, birth dates, passport, licence and phone numbers."""
    gateway, telemetry, collected, _ = traced
    # Values that cannot turn up by chance in ids, paths or messages.
    plan = replace(
        PLAN,
        travellers=(
            Person(
                "Zephyrine",
                "Quasthoff",
                date(1979, 11, 23),
                driver=True,
                phone_number="+8613912345678",
                passport_number="QZ9081726",
                driving_licence_number="LIC55501234",
            ),
            Person("Ottilie", "Brandvold", date(1983, 6, 9), passport_number="QZ1122334"),
        ),
    )
    lines: list[str] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = Capture()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    errors: list[str] = []
    try:
        async with token_channel(gateway_settings, gateway) as channel:
            solutions = solution_service_pb2_grpc.SolutionServiceStub(channel)
            orders = order_service_pb2_grpc.OrderServiceStub(channel)
            solution = (
                await solutions.ComposeSolution(compose_request("roaming", plan), timeout=10)
            ).solution
            bad = book_request(solution.solution_id, plan, "scan-bad", "telecom-cn")
            bad.travellers[0].passport_number = "lower-case-" + plan.travellers[0].given_name
            bad.travellers[1].birth_date.day = 31
            bad.travellers[1].birth_date.month = 2
            try:
                await orders.BookSolution(bad, timeout=10)
            except grpc.aio.AioRpcError as exc:
                errors.append(f"{exc.details()} {exc.trailing_metadata()}")
            booked = await orders.BookSolution(
                book_request(solution.solution_id, plan, "scan-1", "telecom-cn"), timeout=30
            )
            assert booked.order.state == order_pb2.ORDER_STATE_CONFIRMED
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
    await asyncio.to_thread(telemetry.tracer_provider.force_flush)  # type: ignore[attr-defined]
    assert errors, "the bad booking was not refused"
    assert collected.spans
    captured = {
        "logs": "\n".join(lines),
        "spans": json.dumps(
            [
                {**s, "attributes": {k: str(v) for k, v in s["attributes"].items()}}
                for s in collected.spans
            ]
        ),
        "errors": "\n".join(errors),
    }
    for person in plan.travellers:
        secrets = (
            person.given_name,
            person.family_name,
            person.birth_date.isoformat(),
            person.passport_number,
            person.driving_licence_number,
            person.phone_number,
        )
        for where, text in captured.items():
            leaked = [s for s in secrets if s and s in text]
            assert not leaked, f"{leaked} in {where}"


def test_prometheus_scrape_endpoint_serves_the_gateway_metrics(tmp_path: Path) -> None:
    """In a process of its own: the Prometheus registry and its HTTP server are process-wide."""
    import subprocess
    import sys

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    script = f"""
import urllib.request
from gateway.telemetry import setup_telemetry
telemetry = setup_telemetry(
    {{"OTEL_METRICS_EXPORTER": "prometheus", "OTEL_EXPORTER_PROMETHEUS_PORT": "{port}"}}, "psg"
)
telemetry.metrics.solutions_composed.add(3, {{"recipe": "travel_abroad", "entry.partner": "car-a"}})
print(urllib.request.urlopen("http://127.0.0.1:{port}/metrics", timeout=10).read().decode())
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    lines = [
        line for line in result.stdout.splitlines() if line.startswith("psg_solutions_composed")
    ]
    assert lines, result.stdout[-2000:]
    assert 'entry_partner="car-a"' in lines[0]
    assert lines[0].endswith(" 3.0")


async def test_without_an_exporter_partners_still_get_the_callers_trace(
    gateway_settings: GatewaySettings, tmp_path: Path
) -> None:
    """The default set-up (no OTEL_* variable) records nothing and leaves the HTTP client
    uninstrumented, yet every partner request carries the caller's trace id."""
    from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor

    from tests.support import SandboxControl

    telemetry = setup_telemetry({}, "psg-test")
    instrument_partner_http(telemetry)
    assert not AioHttpClientInstrumentor().is_instrumented_by_opentelemetry
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    incoming = f"00-{trace_id}-00f067aa0ba902b7-00"  # the caller does not sample
    async with await start_sandbox(DEFAULT_PARTNERS) as cluster:
        control = SandboxControl({pid: p.base_url for pid, p in cluster.partners.items()})
        try:
            settings = link_to_sandbox(gateway_settings, cluster).model_copy(
                update={"state_dir": tmp_path}
            )
            async with (
                running_gateway(settings, "127.0.0.1:0", telemetry=telemetry) as gateway,
                token_channel(gateway_settings, gateway) as channel,
            ):
                stub = solution_service_pb2_grpc.SolutionServiceStub(channel)
                await stub.ComposeSolution(
                    compose_request("roaming", PLAN),
                    metadata=(("traceparent", incoming),),
                    timeout=10,
                )
            for partner_id in cluster.partners:
                quotes = await control.ledger(partner_id, "quote")
                assert quotes, partner_id
                parent = quotes[-1]["traceparent"]
                assert parent is not None, f"{partner_id} got no traceparent"
                assert parent.split("-")[1] == trace_id, partner_id
        finally:
            await control.aclose()
