"""The async bodies of the CLI commands."""

from __future__ import annotations

import contextlib
import json
import shutil
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from typing import Any

import httpx2
from rich.console import Console
from rich.markup import escape

from gateway.audit import verify_store
from gateway.cli import feedback as feedback_cli
from gateway.cli import orders
from gateway.cli.audit import report_text
from gateway.cli.logs import quiet_start
from gateway.cli.memory import Memory, Subject
from gateway.cli.options import client_target
from gateway.cli.otel_edge import edge_telemetry, exports_traces
from gateway.cli.render import solution_json, solutions_table, stdout_console
from gateway.cli.sandbox_link import link_to_sandbox
from gateway.cli.sandbox_partners import apply_knobs, partners_table
from gateway.client import GatewayClient, PartnerTokens
from gateway.client.journeys import (
    DEFAULT_ENTRY_PARTNERS,
    ENTRY_KINDS,
    HeldProduct,
    Person,
    TripPlan,
    compose_request,
    direct_sale_quote,
    traveller_message,
)
from gateway.runtime import RunningGateway, running_gateway, wait_for_termination
from gateway.settings import GatewaySettings
from gateway.telemetry import Telemetry, traced_call
from gateway.web import demo_customer_page
from partnergateway.v1 import feedback_pb2, order_pb2, solution_pb2
from sandbox import DEFAULT_PARTNERS, SandboxCluster, start_sandbox


@asynccontextmanager
async def _gateway_with_sandbox(
    settings: GatewaySettings,
    address: str | None,
    telemetry: Telemetry,
    knobs: dict[str, dict[str, Any]] | None = None,
) -> AsyncIterator[tuple[RunningGateway, SandboxCluster]]:
    tracer_provider = telemetry.tracer_provider if telemetry.enabled else None
    async with await start_sandbox(DEFAULT_PARTNERS, tracer_provider=tracer_provider) as cluster:
        apply_knobs(cluster, knobs or {})
        linked = link_to_sandbox(settings, cluster)
        async with running_gateway(linked, address, telemetry=telemetry) as gateway:
            yield gateway, cluster


async def serve(
    settings: GatewaySettings,
    *,
    sandbox: bool,
    address: str | None,
    console: Console,
    knobs: dict[str, dict[str, Any]] | None = None,
) -> None:
    telemetry = edge_telemetry("partner-gateway", console)
    try:
        async with contextlib.AsyncExitStack() as stack:
            with quiet_start():  # the lines printed below are the account of the start
                if sandbox:
                    gateway, cluster = await stack.enter_async_context(
                        _gateway_with_sandbox(settings, address, telemetry, knobs)
                    )
                    console.print(partners_table(cluster))
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


async def demo(settings: GatewaySettings, *, once: bool, as_json: bool, console: Console) -> bool:
    """True when the four entries gave one and the same complete solution, and booking it
    confirmed every component with a partner reference."""
    telemetry = edge_telemetry("partner-gateway", console, short_lived=once)
    try:
        return await _demo(
            settings, once=once, as_json=as_json, console=console, telemetry=telemetry
        )
    finally:
        telemetry.shutdown()


async def _demo(
    settings: GatewaySettings, *, once: bool, as_json: bool, console: Console, telemetry: Telemetry
) -> bool:
    # What the demo composes and books is remembered like any command's (`order ORD` then
    # needs no --partner), in the state directory the other commands use.
    memory = Memory.under(settings.state_dir)
    # The demo's own store, kept afterwards so `partner-gateway kpis --local` can report on it.
    state = settings.state_dir / "demo"
    shutil.rmtree(state, ignore_errors=True)
    settings = settings.model_copy(update={"state_dir": state})
    address = "127.0.0.1:0" if once else None
    if once:
        settings = _issuer_on_any_port(settings)
    console.print("[bold]Starting sandbox partners and the gateway…[/bold]")
    async with (
        _gateway_with_sandbox(settings, address, telemetry) as (gateway, cluster),
        # The demo's calls get tokens from this gateway's issuer (when it requires them).
        GatewayClient(gateway.target, tokens=_demo_tokens(settings, cluster, gateway)) as client,
    ):
        if not as_json:
            console.print(partners_table(cluster))
        target = gateway.target
        plan = TripPlan.sample(datetime.now(UTC).date())
        held = await _buy_flight_directly(cluster, plan, console)
        solutions = await _four_entries(
            client, plan, held, console, telemetry, show_traces=exports_traces(short_lived=once)
        )
        for s in solutions:
            remember_solution(memory, s)
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
            client, first.solution_id, first.entry.partner_id, None, as_json, 60.0
        )
        memory.remember(Subject.ORDER, order.order_id, order.partner_id)
        booked = order.state == order_pb2.ORDER_STATE_CONFIRMED and all(
            c.reference for c in order.components
        )
        console.print("[bold]The customer rates the trip 9 of 10; the KPIs so far:[/bold]")
        await feedback_cli.submit(
            client,
            solution_id=None,
            order_id=order.order_id,
            score=9,
            comment="Everything in one step.",
            partner=first.entry.partner_id,
            request_id=None,
            as_json=as_json,
        )
        feedback_cli.show_kpis(await _kpis_of_every_entry(client, solutions), as_json)
        console.print(f"(later, without a gateway: {CLI} kpis --local --state-dir {state})")
        # Every disclosure above (quotes, holds) is in the audit log; its chain must hold.
        audit = await verify_store(gateway.store)
        console.print(
            f"[bold]Audit log:[/bold] {escape(report_text(audit))}\n"
            f"(later: {CLI} audit verify --state-dir {state})"
        )
        if not once:
            # The client commands call where the settings make the gateway listen by default.
            default = client_target(settings.server.address)
            at = "" if target == default else f" --target {target}"
            console.print(
                f"\nGateway on [bold]{target}[/bold]. Try:\n"
                f"  {CLI} compose{at} --entry flight --destination JP "
                f"--depart {plan.depart} --return {plan.back}\n"
                f"  {CLI} order {order.order_id}{at}\n"
                f"  {CLI} watch {order.order_id}{at}\n"
                f"  grpcurl -plaintext {target} list\n"
                "Ctrl-C to stop."
            )
            # The telecom's customer page, through Envoy, as a browser sees it (docs/front-ends.md).
            async with demo_customer_page(
                gateway,
                link_to_sandbox(settings, cluster),
                state / "envoy",
                compose_request("roaming", plan, DEFAULT_ENTRY_PARTNERS["roaming"], held=held),
                [traveller_message(p, documents=True) for p in plan.travellers],
            ) as page:
                if page is not None:
                    console.print(
                        f"Customer page (the telecom's, through Envoy at {page.envoy_url}): "
                        f"[bold]{page.page_url}[/bold]"
                    )
                await wait_for_termination()
        return identical and complete and booked and audit.ok


def _demo_tokens(
    settings: GatewaySettings, cluster: SandboxCluster, gateway: RunningGateway
) -> PartnerTokens:
    return PartnerTokens.from_settings(link_to_sandbox(settings, cluster), gateway.issuer_url)


def remember_solution(memory: Memory, solution: solution_pb2.Solution) -> None:
    """The entry partner composed `solution` and collected its consent: later commands about
    either act as it."""
    memory.remember(Subject.SOLUTION, solution.solution_id, solution.entry.partner_id)
    memory.remember(Subject.CONSENT, solution.consent_id, solution.entry.partner_id)


async def _kpis_of_every_entry(
    client: GatewayClient, solutions: list[solution_pb2.Solution]
) -> list[feedback_pb2.KpiRow]:
    """The KPI rows of the demo's entry partners. With tokens, a partner sees its own rows
    only, so each is asked for as that partner; partners in order, as one report sorts."""
    if not client.tokens.required:
        return await feedback_cli.kpi_report(client, None, None)
    partners = sorted({s.entry.partner_id for s in solutions})
    return [row for pid in partners for row in await feedback_cli.kpi_report(client, pid, None)]


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


# How the README and the hints name the command: `make demo` installs it in .venv.
CLI = ".venv/bin/partner-gateway"
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
    client: GatewayClient,
    plan: TripPlan,
    held: list[HeldProduct],
    console: Console,
    telemetry: Telemetry,
    *,
    show_traces: bool,
) -> list[solution_pb2.Solution]:
    solutions = []
    console.print("[bold]The trip, entered at each of the four partners:[/bold]")
    stub = client.solutions
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
        # Under 80 columns, so a terminal never breaks a line inside an id or a number.
        console.print(
            f"  {partner:10} {kind:9} {response.solution.solution_id} {elapsed_ms:5.0f} ms"
        )
        if show_traces:  # a trace id is worth showing only when it is exported
            console.print(f"  {'':20} trace {trace_id}")
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
    client: GatewayClient,
    entry: str,
    plan: TripPlan,
    partner: str | None,
    as_json: bool,
    *,
    deadline_s: float,
    console: Console,
    memory: Memory,
    held: list[HeldProduct] | None = None,
    language_code: str = "en",
) -> solution_pb2.Solution:
    """Composes `plan` as the entry partner would, prints it with its ids and how to book it,
    and remembers the partner (`gateway.cli.memory`)."""
    request = compose_request(entry, plan, partner, held=held or [], language_code=language_code)
    response = await client.solutions.ComposeSolution(request, timeout=deadline_s)
    solution = response.solution
    remember_solution(memory, solution)
    if as_json:
        print(json.dumps(solution_json(solution), ensure_ascii=False))
        return solution
    stdout_console().print(solutions_table([solution], title="Travel abroad"))
    console.print(
        f"solution {solution.solution_id} (consent {solution.consent_id or 'none'}), "
        f"composed as {solution.entry.partner_id}\n"
        f"book it: {CLI} book {solution.solution_id}"
    )
    return solution


def trip_plan(
    destination: str, depart: date, back: date, travellers: tuple[Person, ...] | None
) -> TripPlan:
    """The trip `compose` asks for; ValueError when no airport is known for `destination`
    (an entry needs one: the flight's or the car's, or the one the gateway derives)."""
    from bundles import geo  # only for the destination's airport

    region = destination.upper()
    airport = geo.primary_airport(region)
    if airport is None:
        if not geo.is_region_code(region):
            raise ValueError(f"{destination!r} is not a region code (for example JP)")
        known = ", ".join(f"{r} ({a})" for r, a in sorted(geo.PRIMARY_AIRPORT.items()))
        raise ValueError(f"no destination airport is known for {region}; known: {known}")
    if travellers is None:
        return TripPlan(region, airport, depart, back)
    return TripPlan(region, airport, depart, back, travellers)
