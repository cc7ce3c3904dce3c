"""The async bodies of the CLI commands."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from typing import Any

import httpx2
from google.rpc import error_details_pb2, status_pb2
from rich.console import Console
from rich.markup import escape

from gateway.audit import verify_store
from gateway.cli import feedback as feedback_cli
from gateway.cli import orders
from gateway.cli.audit import report_text
from gateway.cli.channels import ClientTls, open_channel
from gateway.cli.credentials import PartnerTokens, active_tokens, use_tokens
from gateway.cli.journey import (
    DEFAULT_ENTRY_PARTNERS,
    ENTRY_KINDS,
    HeldProduct,
    TripPlan,
    compose_request,
    direct_sale_quote,
)
from gateway.cli.render import solution_json, solutions_table, stdout_console
from gateway.cli.sandbox_link import link_to_sandbox
from gateway.runtime import RunningGateway, running_gateway, wait_for_termination
from gateway.settings import GatewaySettings
from gateway.telemetry import Telemetry, instrument_partner_http, setup_telemetry, traced_call
from partnergateway.v1 import feedback_pb2, order_pb2, solution_pb2, solution_service_pb2_grpc
from sandbox import DEFAULT_PARTNERS, SandboxCluster, start_sandbox


def edge_telemetry(service_name: str) -> Telemetry:
    """Telemetry as the process's OTEL_* variables ask (read here, at the edge, once)."""
    telemetry = setup_telemetry(os.environ, service_name)
    instrument_partner_http(telemetry)
    return telemetry


@asynccontextmanager
async def _gateway_with_sandbox(
    settings: GatewaySettings, address: str | None, console: Console, telemetry: Telemetry
) -> AsyncIterator[tuple[RunningGateway, SandboxCluster]]:
    tracer_provider = telemetry.tracer_provider if telemetry.enabled else None
    async with await start_sandbox(DEFAULT_PARTNERS, tracer_provider=tracer_provider) as cluster:
        for pid, running in cluster.partners.items():
            console.print(f"  sandbox partner [bold]{pid}[/bold] at {running.base_url}")
        linked = link_to_sandbox(settings, cluster)
        async with running_gateway(linked, address, telemetry=telemetry) as gateway:
            # In-process client calls (the demo's) use this gateway's issuer when it needs tokens.
            use_tokens(PartnerTokens.from_settings(linked, gateway.issuer_url))
            yield gateway, cluster


async def serve(
    settings: GatewaySettings, *, sandbox: bool, address: str | None, console: Console
) -> None:
    telemetry = edge_telemetry("partner-gateway")
    try:
        async with contextlib.AsyncExitStack() as stack:
            if sandbox:
                gateway, _ = await stack.enter_async_context(
                    _gateway_with_sandbox(settings, address, console, telemetry)
                )
            else:
                gateway = await stack.enter_async_context(
                    running_gateway(settings, address, telemetry=telemetry)
                )
            if gateway.issuer_url is not None:
                console.print(f"token issuer at {gateway.issuer_url} (POST /oauth/token)")
            console.print(f"gateway serving on port {gateway.port} (Ctrl-C or SIGTERM to stop)")
            await wait_for_termination()
    finally:
        telemetry.shutdown()
    console.print("gateway stopped")


def parse_knobs(items: list[str]) -> dict[str, dict[str, Any]]:
    """`["airline-a.latency_ms=500"]` → `{"airline-a": {"latency_ms": 500}}` (JSON values)."""
    knobs: dict[str, dict[str, Any]] = {}
    for item in items:
        target, sep, raw = item.partition("=")
        partner_id, dot, name = target.partition(".")
        if not (sep and dot and partner_id and name):
            raise ValueError(f"{item!r} is not PARTNER.KNOB=VALUE")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        knobs.setdefault(partner_id, {})[name] = value
    return knobs


async def run_sandbox(
    host: str, base_port: int, knobs: dict[str, dict[str, Any]], console: Console
) -> None:
    ports = (
        {spec.partner_id: base_port + i for i, spec in enumerate(DEFAULT_PARTNERS)}
        if base_port
        else None
    )
    telemetry = edge_telemetry("sandbox-partners")
    tracer_provider = telemetry.tracer_provider if telemetry.enabled else None
    async with await start_sandbox(
        DEFAULT_PARTNERS, host=host, ports=ports, tracer_provider=tracer_provider
    ) as cluster:
        for pid, patch in knobs.items():
            if pid not in cluster.partners:
                raise SystemExit(f"--knob: no sandbox partner {pid!r}")
            cluster.partners[pid].state.patch_knobs(patch)
        for pid, running in cluster.partners.items():
            console.print(f"{pid:12} {running.spec.kind:11} {running.base_url}")
        console.print("sandbox partners running (Ctrl-C or SIGTERM to stop)")
        await wait_for_termination()


async def demo(settings: GatewaySettings, *, once: bool, as_json: bool, console: Console) -> bool:
    """True when the four entries gave one and the same complete solution, and booking it
    confirmed every component with a partner reference."""
    telemetry = edge_telemetry("partner-gateway")
    try:
        return await _demo(
            settings, once=once, as_json=as_json, console=console, telemetry=telemetry
        )
    finally:
        telemetry.shutdown()


async def _demo(
    settings: GatewaySettings, *, once: bool, as_json: bool, console: Console, telemetry: Telemetry
) -> bool:
    # The demo's own store, kept afterwards so `partner-gateway kpis --local` can report on it.
    state = settings.state_dir / "demo"
    shutil.rmtree(state, ignore_errors=True)
    settings = settings.model_copy(update={"state_dir": state})
    address = "127.0.0.1:0" if once else None
    if once:
        settings = _issuer_on_any_port(settings)
    console.print("[bold]Starting sandbox partners and the gateway…[/bold]")
    async with _gateway_with_sandbox(settings, address, console, telemetry) as (gateway, cluster):
        target = gateway.target
        plan = TripPlan.sample(datetime.now(UTC).date())
        held = await _buy_flight_directly(cluster, plan, console)
        solutions = await _four_entries(target, plan, held, console, telemetry)
        _show(solutions, as_json, console)
        identical = len({s.fingerprint for s in solutions}) == 1
        complete = all(
            c.status in (solution_pb2.COMPONENT_STATUS_OK, solution_pb2.COMPONENT_STATUS_HELD)
            for s in solutions
            for c in s.components
        )
        _show_in_chinese(solutions, as_json, console)
        first = solutions[0]
        console.print(
            f"[bold]Booking the solution entered at {first.entry.partner_id} "
            "across every partner…[/bold]"
        )
        order = await orders.book(
            target, first.solution_id, first.entry.partner_id, None, as_json, 60.0
        )
        booked = order.state == order_pb2.ORDER_STATE_CONFIRMED and all(
            c.reference for c in order.components
        )
        console.print("[bold]The customer rates the trip 9 of 10; the KPIs so far:[/bold]")
        await feedback_cli.submit(
            target,
            solution_id=None,
            order_id=order.order_id,
            score=9,
            comment="Everything in one step.",
            partner=first.entry.partner_id,
            request_id=None,
            as_json=as_json,
        )
        feedback_cli.show_kpis(await _kpis_of_every_entry(target, solutions), as_json)
        console.print(
            f"(later, without a gateway: partner-gateway kpis --local --state-dir {state})"
        )
        # Every disclosure above (quotes, holds) is in the audit log; its chain must hold.
        audit = await verify_store(gateway.store)
        console.print(
            f"[bold]Audit log:[/bold] {escape(report_text(audit))}\n"
            f"(later: partner-gateway audit verify --state-dir {state})"
        )
        if not once:
            console.print(
                f"\nGateway on [bold]{target}[/bold]. Try:\n"
                f"  partner-gateway compose --target {target} --entry flight "
                "--destination JP --depart 2027-01-10 --return 2027-01-17\n"
                f"  grpcurl -plaintext {target} list\n"
                "Ctrl-C to stop."
            )
            await wait_for_termination()
        return identical and complete and booked and audit.ok


async def _kpis_of_every_entry(
    target: str, solutions: list[solution_pb2.Solution]
) -> list[feedback_pb2.KpiRow]:
    """The KPI rows of the demo's entry partners. With tokens, a partner sees its own rows
    only, so each is asked for as that partner; partners in order, as one report sorts."""
    if not active_tokens().required:
        return await feedback_cli.kpi_report(target, None, None)
    partners = sorted({s.entry.partner_id for s in solutions})
    return [row for pid in partners for row in await feedback_cli.kpi_report(target, pid, None)]


def _issuer_on_any_port(settings: GatewaySettings) -> GatewaySettings:
    """`demo --once` talks only to itself: like the gateway, its token issuer takes any free
    port, so a gateway already running beside it is no obstacle. A configured issuer URL
    names a fixed address, which is kept."""
    issuer = settings.auth.issuer
    if not issuer.enabled or issuer.url is not None:
        return settings
    auth = settings.auth.model_copy(
        update={"issuer": issuer.model_copy(update={"address": "127.0.0.1:0"})}
    )
    return settings.model_copy(update={"auth": auth})


# The customer booked the family's flight at this airline's own counter before anything else.
_DEMO_AIRLINE = "airline-a"
_DEMO_LANGUAGES = {"roaming": "zh-CN"}


async def _buy_flight_directly(
    cluster: SandboxCluster, plan: TripPlan, console: Console
) -> list[HeldProduct]:
    """The demo customer's flight, bought at the airline directly: every entry reports it
    (the airline in its event, the others in `held_products`), and every plan holds it."""
    url = f"{cluster.partners[_DEMO_AIRLINE].base_url}/_sandbox/sales"
    async with httpx2.AsyncClient(timeout=10, trust_env=False) as http:
        response = await http.post(
            url, json={"quote": direct_sale_quote("airline", plan), "pick": 0}
        )
        response.raise_for_status()
    sale = response.json()
    console.print(
        f"The customer already booked [bold]{escape(sale['booking']['title'])}[/bold] "
        f"at {_DEMO_AIRLINE} (reference {sale['reference']})."
    )
    return [HeldProduct(_DEMO_AIRLINE, sale["reference"])]


async def _four_entries(
    target: str,
    plan: TripPlan,
    held: list[HeldProduct],
    console: Console,
    telemetry: Telemetry,
) -> list[solution_pb2.Solution]:
    solutions = []
    async with open_channel(target) as channel:
        stub = solution_service_pb2_grpc.SolutionServiceStub(channel)
        for kind in ENTRY_KINDS:
            partner = DEFAULT_ENTRY_PARTNERS[kind]
            started = time.perf_counter()
            with traced_call(telemetry, f"demo.compose.{kind}") as (metadata, trace_id):
                # The telecom's customer reads Chinese; the others' customers English.
                language = _DEMO_LANGUAGES.get(kind, "en")
                response = await stub.ComposeSolution(
                    compose_request(kind, plan, partner, held=held, language_code=language),
                    timeout=10,
                    metadata=metadata,
                )
            elapsed_ms = (time.perf_counter() - started) * 1000
            console.print(
                f"  entered at {partner:10} ({kind:9}) → "
                f"{response.solution.solution_id}  {elapsed_ms:6.1f} ms  trace {trace_id}"
            )
            solutions.append(response.solution)
    return solutions


def _show_in_chinese(
    solutions: list[solution_pb2.Solution], as_json: bool, console: Console
) -> None:
    """The telecom's customer reads Chinese: that plan alone, in zh-CN."""
    chinese = next((s for s in solutions if s.language_code == "zh-CN"), None)
    if chinese is None or as_json:
        return
    stdout_console().print(solutions_table([chinese], title="出境旅行 — zh-CN"))
    console.print(
        f"The plan entered at {chinese.entry.partner_id} was asked for in zh-CN: other words, "
        "the same plan (language never changes the fingerprint)."
    )


def _show(solutions: list[solution_pb2.Solution], as_json: bool, console: Console) -> None:
    identical = len({s.fingerprint for s in solutions}) == 1
    if as_json:
        for s in solutions:
            print(json.dumps(solution_json(s), ensure_ascii=False))
        return
    # Side by side without the reasons: the zh-CN plan below shows them.
    stdout_console().print(solutions_table(solutions, reasons=False))
    if identical:
        held = [
            c.kind
            for c in solutions[0].components
            if c.status == solution_pb2.COMPONENT_STATUS_HELD
        ]
        around = f", built around the {' and '.join(held)} the customer holds" if held else ""
        console.print(
            f"[green]✓ The four entries gave the same plan{around} "
            f"(fingerprint {solutions[0].fingerprint[:16]}…).[/green]"
        )
    else:
        console.print("[red]✗ The entries gave different solutions.[/red]")


async def compose(
    target: str,
    entry: str,
    destination: str,
    depart: date,
    back: date,
    partner: str | None,
    as_json: bool,
    *,
    deadline_s: float,
    console: Console,
    tls: ClientTls | None = None,
    held: list[HeldProduct] | None = None,
    language_code: str = "en",
) -> None:
    from bundles import geo  # only for the default airport of the destination

    plan = TripPlan(destination, geo.primary_airport(destination) or "", depart, back)
    async with open_channel(target, tls) as channel:
        stub = solution_service_pb2_grpc.SolutionServiceStub(channel)
        request = compose_request(
            entry, plan, partner, held=held or [], language_code=language_code
        )
        response = await stub.ComposeSolution(request, timeout=deadline_s)
    solution = response.solution
    if as_json:
        print(json.dumps(solution_json(solution), ensure_ascii=False))
        return
    stdout_console().print(solutions_table([solution]))
    console.print(
        f"solution {solution.solution_id} (consent {solution.consent_id or 'none'})\n"
        f"book it: .venv/bin/partner-gateway book {solution.solution_id} "
        f"--partner {solution.entry.partner_id}"
    )


def field_violations(status: status_pb2.Status | None) -> list[dict[str, Any]]:
    if status is None:
        return []
    found: list[dict[str, Any]] = []
    for detail in status.details:
        bad = error_details_pb2.BadRequest()
        if detail.Unpack(bad):
            found.extend(
                {"field": v.field, "description": v.description} for v in bad.field_violations
            )
    return found
