"""The client commands: a partner's calls to a running gateway, from `compose` to `watch`.

Each acts as a partner: `--partner`, else the partner this command line composed or booked the
id as (`gateway.cli.memory`), so the README's sequence needs no `--partner` at all.
"""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from bundles import geo
from gateway.cli import commands, orders
from gateway.cli import consents as consents_cli
from gateway.cli import feedback as feedback_cli
from gateway.cli.memory import Subject
from gateway.cli.options import (
    ConfigOption,
    JsonOption,
    PartnerOption,
    TargetOption,
    TlsCaOption,
    TlsCertOption,
    TlsKeyOption,
    tls_options,
)
from gateway.cli.runner import Acting, Prepared, err, fail, prepare, run
from gateway.cli.travellers import TRAVELLER_HELP, parse_traveller, with_home_airport
from gateway.client import GatewayClient
from gateway.client.journeys import (
    DEFAULT_ENTRY_PARTNERS,
    ENTRY_KINDS,
    HeldProduct,
    Person,
    sample_family,
)
from gateway.settings import load_settings

__all__ = ["register"]


def compose_command(
    entry: Annotated[str, typer.Option(help=f"Entry kind: {', '.join(ENTRY_KINDS)}.")],
    destination: Annotated[
        str, typer.Option(help="Destination CLDR region code, e.g. JP (any case).")
    ],
    depart: Annotated[str, typer.Option(help="Departure date, YYYY-MM-DD.")],
    return_: Annotated[str, typer.Option("--return", help="Return date, YYYY-MM-DD.")],
    target: TargetOption = None,
    partner: Annotated[
        str | None,
        typer.Option(help="Entry partner id (default: the sandbox partner of the entry kind)."),
    ] = None,
    traveller: Annotated[list[str] | None, typer.Option(help=TRAVELLER_HELP)] = None,
    origin: Annotated[
        str | None,
        typer.Option("--from", help="Airport the trip starts from, e.g. PVG (default: home's)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the solution as JSON.")] = False,
    timeout: Annotated[float, typer.Option(help="Deadline in seconds.")] = 10.0,
    language: Annotated[
        str, typer.Option(help="BCP-47 language of the plan's text: en, zh-CN…")
    ] = "en",
    held: Annotated[
        list[str] | None,
        typer.Option(
            help="A product the customer holds, PARTNER:REFERENCE (repeatable); the one held "
            "at the entry partner goes in the entry event."
        ),
    ] = None,
    tls_ca: TlsCaOption = None,
    tls_cert: TlsCertOption = None,
    tls_key: TlsKeyOption = None,
    config: ConfigOption = None,
) -> None:
    """Ask a running gateway for a solution, as the entry partner would."""
    tls = tls_options(tls_ca, tls_cert, tls_key)
    entry = entry.lower()
    if entry not in ENTRY_KINDS:
        fail(f"--entry {entry!r}: one of {', '.join(ENTRY_KINDS)}")
    products = []
    for item in held or []:
        holder, sep, reference = item.partition(":")
        if not (sep and holder and reference):
            fail(f"--held {item!r} is not PARTNER:REFERENCE")
        products.append(HeldProduct(holder, reference))
    try:
        depart_date, return_date = date.fromisoformat(depart), date.fromisoformat(return_)
    except ValueError as exc:
        fail(f"--depart/--return: {exc}")
    travellers = _travellers(traveller or [], depart_date, origin)
    try:
        plan = commands.trip_plan(destination, depart_date, return_date, travellers)
    except ValueError as exc:
        fail(f"--destination: {exc}")
    prepared = prepare(config, target)
    client = prepared.client(partner or DEFAULT_ENTRY_PARTNERS[entry], tls)
    run(
        commands.compose(
            client,
            entry,
            plan,
            partner,
            as_json,
            deadline_s=timeout,
            console=err,
            memory=prepared.memory,
            held=products,
            language_code=language,
        ),
        client=client,
        as_json=as_json,
    )


def _travellers(specs: list[str], depart: date, origin: str | None) -> tuple[Person, ...] | None:
    """The `--traveller`s (None: the sample family), flying from `--from` when given."""
    people: tuple[Person, ...] | None = None
    if specs:
        try:
            people = tuple(parse_traveller(s, i, depart) for i, s in enumerate(specs))
        except ValueError as exc:
            fail(f"--traveller: {exc}")
    if origin is None:
        return people
    airport = origin.upper()
    if geo.airport(airport) is None:
        known = ", ".join(sorted(geo.AIRPORTS))
        fail(f"--from {origin!r}: no such airport is known; known: {known}")
    if people is None:
        people = sample_family()
    return with_home_airport(people, airport)


def book_command(
    solution_id: str,
    request_id: Annotated[str | None, typer.Option(help="Idempotency key (default: new).")] = None,
    partner: PartnerOption = None,
    target: TargetOption = None,
    as_json: JsonOption = False,
    tls_ca: TlsCaOption = None,
    tls_cert: TlsCertOption = None,
    tls_key: TlsKeyOption = None,
    config: ConfigOption = None,
) -> None:
    """Book a solution across every partner in it, as the partner that composed it."""
    tls = tls_options(tls_ca, tls_cert, tls_key)
    prepared = prepare(config, target)
    acting = _acting(prepared, Subject.SOLUTION, solution_id, partner)
    if prepared.settings.auth.required:  # else the solution names its partner (GetSolution)
        acting.required()
    client = prepared.client(acting.partner, tls)
    order = run(
        orders.book(client, solution_id, acting.partner, request_id, as_json, 60.0, console=err),
        client=client,
        as_json=as_json,
        hint=acting.hint,
    )
    prepared.memory.remember(Subject.ORDER, order.order_id, order.partner_id)
    if not as_json:
        err.print(
            f"order {order.order_id}, booked as {order.partner_id}\n"
            f"follow it: {commands.CLI} watch {order.order_id}"
        )


def order_command(
    order_id: str,
    partner: PartnerOption = None,
    target: TargetOption = None,
    as_json: JsonOption = False,
    tls_ca: TlsCaOption = None,
    tls_cert: TlsCertOption = None,
    tls_key: TlsKeyOption = None,
    config: ConfigOption = None,
) -> None:
    """Show one order with every partner's reference."""
    acting, who, client = _as_owner(
        config, target, (tls_ca, tls_cert, tls_key), Subject.ORDER, order_id, partner
    )
    run(
        orders.get_order(client, order_id, who, as_json),
        client=client,
        as_json=as_json,
        hint=acting.hint,
    )
    _note(acting)


def orders_command(
    partner: Annotated[
        str | None,
        typer.Option(
            help="Whose orders (default: every partner this command line booked orders as)."
        ),
    ] = None,
    target: TargetOption = None,
    as_json: JsonOption = False,
    tls_ca: TlsCaOption = None,
    tls_cert: TlsCertOption = None,
    tls_key: TlsKeyOption = None,
    config: ConfigOption = None,
) -> None:
    """List the orders a partner booked."""
    tls = tls_options(tls_ca, tls_cert, tls_key)
    prepared = prepare(config, target)
    partners = [partner] if partner else prepared.memory.partners(Subject.ORDER)
    if not partners:
        err.print("No orders booked from this command line yet; --partner lists a partner's.")
        return
    client = prepared.client(partners[0], tls)
    run(orders.list_orders(client, partners, as_json), client=client, as_json=as_json)


def cancel_command(
    order_id: str,
    component: Annotated[list[str] | None, typer.Option(help="Component kind (repeat).")] = None,
    confirm: Annotated[bool, typer.Option(help="Cancel; without it, only quote refunds.")] = False,
    partner: PartnerOption = None,
    target: TargetOption = None,
    as_json: JsonOption = False,
    tls_ca: TlsCaOption = None,
    tls_cert: TlsCertOption = None,
    tls_key: TlsKeyOption = None,
    config: ConfigOption = None,
) -> None:
    """Quote the refunds of cancelling an order (or components); --confirm cancels."""
    acting, who, client = _as_owner(
        config, target, (tls_ca, tls_cert, tls_key), Subject.ORDER, order_id, partner
    )
    run(
        orders.cancel(client, order_id, who, component or [], confirm, as_json),
        client=client,
        as_json=as_json,
        hint=acting.hint,
    )


def watch_command(
    order_id: str,
    after: Annotated[int, typer.Option(help="Events after this sequence.")] = 0,
    partner: PartnerOption = None,
    target: TargetOption = None,
    tls_ca: TlsCaOption = None,
    tls_cert: TlsCertOption = None,
    tls_key: TlsKeyOption = None,
    config: ConfigOption = None,
) -> None:
    """Follow an order's events until it is final."""
    acting, who, client = _as_owner(
        config, target, (tls_ca, tls_cert, tls_key), Subject.ORDER, order_id, partner
    )
    _note(acting)
    run(
        orders.watch(client, order_id, who, after),
        client=client,
        as_json=False,
        hint=acting.hint,
    )


def feedback_command(
    score: Annotated[int, typer.Option(help="The customer's score, 0 to 10.")],
    solution: Annotated[str | None, typer.Option(help="The solution it is about.")] = None,
    order: Annotated[str | None, typer.Option(help="The order it is about.")] = None,
    comment: Annotated[str, typer.Option(help="The customer's own words.")] = "",
    partner: PartnerOption = None,
    request_id: Annotated[str | None, typer.Option(help="Idempotency key (default: new).")] = None,
    target: TargetOption = None,
    as_json: JsonOption = False,
    tls_ca: TlsCaOption = None,
    tls_cert: TlsCertOption = None,
    tls_key: TlsKeyOption = None,
    config: ConfigOption = None,
) -> None:
    """Record a customer's 0-10 score on a solution (--solution) or an order (--order)."""
    if (solution is None) == (order is None):
        fail("give exactly one of --solution and --order")
    tls = tls_options(tls_ca, tls_cert, tls_key)
    prepared = prepare(config, target)
    if solution is not None:
        acting = _acting(prepared, Subject.SOLUTION, solution, partner)
    else:
        acting = _acting(prepared, Subject.ORDER, order or "", partner)
    client = prepared.client(acting.partner, tls)
    run(
        feedback_cli.submit(
            client,
            solution_id=solution,
            order_id=order,
            score=score,
            comment=comment,
            partner=acting.partner,
            request_id=request_id,
            as_json=as_json,
        ),
        client=client,
        as_json=as_json,
        hint=acting.hint,
    )


def kpis_command(
    partner: Annotated[str | None, typer.Option(help="Only this entry partner.")] = None,
    recipe: Annotated[
        str | None, typer.Option(help="Only this recipe: name@version, or name for all.")
    ] = None,
    target: TargetOption = None,
    local: Annotated[
        bool, typer.Option(help="Read the store directly (no running gateway needed).")
    ] = False,
    state_dir: Annotated[
        Path | None, typer.Option(help="With --local: the state directory (e.g. state/demo).")
    ] = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
    tls_ca: TlsCaOption = None,
    tls_cert: TlsCertOption = None,
    tls_key: TlsKeyOption = None,
) -> None:
    """Customer KPIs per entry partner and recipe: take-up and NPS."""
    if local:
        settings = load_settings(config)
        if state_dir is not None:
            settings = settings.model_copy(update={"state_dir": state_dir})
        asyncio.run(feedback_cli.kpis_local(settings, partner, recipe, as_json))
        return
    tls = tls_options(tls_ca, tls_cert, tls_key)
    prepared = prepare(config, target)
    client = prepared.client(partner, tls)
    run(feedback_cli.kpis(client, partner, recipe, as_json), client=client, as_json=as_json)


consent_app = typer.Typer(help="A customer's consent, as the gateway recorded it.")


@consent_app.command("show")
def consent_show_command(
    consent_id: str,
    partner: PartnerOption = None,
    target: TargetOption = None,
    as_json: JsonOption = False,
    tls_ca: TlsCaOption = None,
    tls_cert: TlsCertOption = None,
    tls_key: TlsKeyOption = None,
    config: ConfigOption = None,
) -> None:
    """Show a consent (only to the partner that collected it)."""
    acting, _who, client = _as_owner(
        config, target, (tls_ca, tls_cert, tls_key), Subject.CONSENT, consent_id, partner
    )
    run(
        consents_cli.get_consent(client, consent_id, as_json),
        client=client,
        as_json=as_json,
        hint=acting.hint,
    )


@consent_app.command("withdraw")
def consent_withdraw_command(
    consent_id: str,
    partner: PartnerOption = None,
    target: TargetOption = None,
    as_json: JsonOption = False,
    tls_ca: TlsCaOption = None,
    tls_cert: TlsCertOption = None,
    tls_key: TlsKeyOption = None,
    config: ConfigOption = None,
) -> None:
    """Withdraw a consent: nothing more is sent to any partner under it."""
    acting, _who, client = _as_owner(
        config, target, (tls_ca, tls_cert, tls_key), Subject.CONSENT, consent_id, partner
    )
    run(
        consents_cli.withdraw_consent(client, consent_id, as_json),
        client=client,
        as_json=as_json,
        hint=acting.hint,
    )


def _as_owner(
    config: Path | None,
    target: str | None,
    tls: tuple[Path | None, Path | None, Path | None],
    subject: Subject,
    subject_id: str,
    given: str | None,
) -> tuple[Acting, str, GatewayClient]:
    """For a command about one id: the partner it belongs to (the one given, else the one
    this command line remembers), how that was chosen, and a client acting as it."""
    prepared = prepare(config, target)
    acting = _acting(prepared, subject, subject_id, given)
    who = acting.required()
    return acting, who, prepared.client(who, tls_options(*tls))


def _acting(prepared: Prepared, subject: Subject, subject_id: str, given: str | None) -> Acting:
    return Acting(subject, subject_id, given, prepared.memory.partner_of(subject, subject_id))


def _note(acting: Acting) -> None:
    said = acting.someone_else()
    if said:
        err.print(f"[dim]{said}[/dim]")


def register(app: typer.Typer) -> None:
    """Adds the client commands to `app`, in the order a newcomer meets them."""
    app.command("compose")(compose_command)
    app.command("book")(book_command)
    app.command("order")(order_command)
    app.command("orders")(orders_command)
    app.command("cancel")(cancel_command)
    app.command("watch")(watch_command)
    app.command("feedback")(feedback_command)
    app.command("kpis")(kpis_command)
    app.add_typer(consent_app, name="consent")
