"""The `partner-gateway` command. Typer runs no async commands: each wraps `asyncio.run`."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import grpc
import typer
from grpc_status import rpc_status
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from gateway.auth import missing_token_source
from gateway.cli import audit as audit_cli
from gateway.cli import commands, orders, workers
from gateway.cli import consents as consents_cli
from gateway.cli import feedback as feedback_cli
from gateway.cli.channels import ClientTls, client_tls
from gateway.cli.credentials import PartnerTokens, use_tokens
from gateway.cli.journey import ENTRY_KINDS, HeldProduct
from gateway.settings import GatewaySettings, StorageSettings, load_settings
from gateway.telemetry import configure_logging

app = typer.Typer(help="Partner Solution Gateway", no_args_is_help=True, add_completion=False)
err = Console(stderr=True, soft_wrap=True)

ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="YAML settings file (PSG_* env overrides).")
]


def _setup_logging(level: str) -> None:
    configure_logging(level)


@app.command()
def serve(
    config: ConfigOption = None,
    sandbox: Annotated[bool, typer.Option(help="Also run the sandbox partners.")] = False,
    address: Annotated[str | None, typer.Option(help="Listen address.")] = None,
    workers_: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            help="Processes sharing the (fixed) port via SO_REUSEPORT, on Linux.",
        ),
    ] = 1,
    worker: Annotated[
        int | None, typer.Option(hidden=True, help="Internal: run as worker INDEX of --workers.")
    ] = None,
) -> None:
    """Run the gateway until SIGTERM/SIGINT (health turns NOT_SERVING, then calls drain).

    Every call needs a partner's access token (auth.required): without --sandbox, configure
    who can get one (auth.issuer.clients or auth.trusted_issuers), or it refuses to start."""
    settings = load_settings(config)
    _setup_logging(settings.log_level)
    problem = None if sandbox or worker is not None else missing_token_source(settings.auth)
    if problem is not None:
        err.print(f"[red]Not starting:[/red] {escape(problem)}")
        raise typer.Exit(2)
    if worker is not None:
        if sandbox:
            raise typer.BadParameter("a worker never runs the sandbox", param_hint="--worker")
        asyncio.run(workers.serve_worker(settings, index=worker, address=address, console=err))
        return
    if workers_ > 1:
        listen = address or settings.server.address
        try:
            workers.fixed_port(listen)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--workers") from exc
        code = asyncio.run(
            workers.serve_workers(
                settings, workers=workers_, sandbox=sandbox, address=listen, console=err
            )
        )
        raise typer.Exit(code)
    asyncio.run(commands.serve(settings, sandbox=sandbox, address=address, console=err))


@app.command("sandbox")
def sandbox_command(
    host: Annotated[str, typer.Option(help="Loopback address to listen on.")] = "127.0.0.1",
    base_port: Annotated[int, typer.Option(help="First port (0 = free ports).")] = 8401,
    knob: Annotated[
        list[str] | None,
        typer.Option(help="PARTNER.KNOB=VALUE at start, e.g. airline-a.latency_ms=500 (repeat)."),
    ] = None,
) -> None:
    """Run the sandbox partners alone (they keep their ledgers while a gateway restarts).

    Knobs can be changed later with PATCH /_sandbox/knobs on each partner."""
    try:
        knobs = commands.parse_knobs(knob or [])
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--knob") from exc
    asyncio.run(commands.run_sandbox(host, base_port, knobs, console=err))


@app.command()
def demo(
    once: Annotated[bool, typer.Option(help="Compose, print, exit.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per solution.")] = False,
    config: ConfigOption = None,
) -> None:
    """Gateway + sandbox partners; one customer's trip entered at each of the four partners."""
    settings = load_settings(config)
    _setup_logging("WARNING")
    ok = asyncio.run(commands.demo(settings, once=once, as_json=as_json, console=err))
    raise typer.Exit(0 if ok else 1)


@app.command()
def compose(
    entry: Annotated[str, typer.Option(help=f"Entry kind: {', '.join(ENTRY_KINDS)}.")],
    destination: Annotated[str, typer.Option(help="Destination CLDR region code, e.g. JP.")],
    depart: Annotated[str, typer.Option(help="Departure date, YYYY-MM-DD.")],
    return_: Annotated[str, typer.Option("--return", help="Return date, YYYY-MM-DD.")],
    target: Annotated[str, typer.Option(help="Gateway address.")] = "127.0.0.1:50051",
    partner: Annotated[str | None, typer.Option(help="Entry partner id.")] = None,
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
    tls = _tls(tls_ca, tls_cert, tls_key)
    _use_tokens(config, partner)
    if entry not in ENTRY_KINDS:
        raise typer.BadParameter(f"one of {', '.join(ENTRY_KINDS)}", param_hint="--entry")
    products = []
    for item in held or []:
        holder, sep, reference = item.partition(":")
        if not (sep and holder and reference):
            raise typer.BadParameter(f"{item!r} is not PARTNER:REFERENCE", param_hint="--held")
        products.append(HeldProduct(holder, reference))
    try:
        depart_date, return_date = date.fromisoformat(depart), date.fromisoformat(return_)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--depart/--return") from exc
    try:
        asyncio.run(
            commands.compose(
                target,
                entry,
                destination,
                depart_date,
                return_date,
                partner,
                as_json,
                deadline_s=timeout,
                console=err,
                tls=tls,
                held=products,
                language_code=language,
            )
        )
    except grpc.aio.AioRpcError as exc:
        _print_rpc_error(exc, as_json)
        raise typer.Exit(2) from exc


PartnerOption = Annotated[str, typer.Option(help="The partner you act as.")]
TargetOption = Annotated[str, typer.Option(help="Gateway address.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
_PEM = {"exists": True, "dir_okay": False, "readable": True}
TlsCaOption = Annotated[
    Path | None,
    typer.Option("--tls-ca", help="Connect over TLS; PEM CA of the gateway's certificate.", **_PEM),
]
TlsCertOption = Annotated[
    Path | None,
    typer.Option(
        "--tls-cert", help="PEM client certificate for mutual TLS (with --tls-key).", **_PEM
    ),
]
TlsKeyOption = Annotated[
    Path | None, typer.Option("--tls-key", help="PEM private key of --tls-cert.", **_PEM)
]


def _tls(ca: Path | None, cert: Path | None, key: Path | None) -> ClientTls | None:
    """TLS options of a client command; none given: plaintext."""
    try:
        return client_tls(ca, cert, key)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--tls-cert/--tls-key") from exc


def _use_tokens(config: Path | None, partner: str | None) -> None:
    """With `auth.required` (the default), calls carry the acting partner's access token: the
    partner a request names, else `--partner`."""
    use_tokens(PartnerTokens.from_settings(load_settings(config), default_partner=partner))


def _run_rpc(coroutine: Coroutine[Any, Any, object], as_json: bool) -> None:
    try:
        asyncio.run(coroutine)
    except grpc.aio.AioRpcError as exc:
        _print_rpc_error(exc, as_json)
        raise typer.Exit(2) from exc


@app.command("book")
def book_command(
    solution_id: str,
    request_id: Annotated[str | None, typer.Option(help="Idempotency key (default: new).")] = None,
    partner: Annotated[
        str | None,
        typer.Option(
            help="Entry partner, whose token books (needed with auth on, the default; "
            "with auth off: the solution's)."
        ),
    ] = None,
    target: TargetOption = "127.0.0.1:50051",
    as_json: JsonOption = False,
    tls_ca: TlsCaOption = None,
    tls_cert: TlsCertOption = None,
    tls_key: TlsKeyOption = None,
    config: ConfigOption = None,
) -> None:
    """Book a solution across every partner in it."""
    tls = _tls(tls_ca, tls_cert, tls_key)
    _use_tokens(config, partner)
    _run_rpc(orders.book(target, solution_id, partner, request_id, as_json, 60.0, tls=tls), as_json)


@app.command("order")
def order_command(
    order_id: str,
    partner: PartnerOption = "telecom-cn",
    target: TargetOption = "127.0.0.1:50051",
    as_json: JsonOption = False,
    tls_ca: TlsCaOption = None,
    tls_cert: TlsCertOption = None,
    tls_key: TlsKeyOption = None,
    config: ConfigOption = None,
) -> None:
    """Show one order with every partner's reference."""
    tls = _tls(tls_ca, tls_cert, tls_key)
    _use_tokens(config, partner)
    _run_rpc(orders.get_order(target, order_id, partner, as_json, tls=tls), as_json)


consent_app = typer.Typer(help="A customer's consent, as the gateway recorded it.")
app.add_typer(consent_app, name="consent")


@consent_app.command("show")
def consent_show_command(
    consent_id: str,
    partner: PartnerOption = "telecom-cn",
    target: TargetOption = "127.0.0.1:50051",
    as_json: JsonOption = False,
    tls_ca: TlsCaOption = None,
    tls_cert: TlsCertOption = None,
    tls_key: TlsKeyOption = None,
    config: ConfigOption = None,
) -> None:
    """Show a consent (only to the partner that collected it)."""
    tls = _tls(tls_ca, tls_cert, tls_key)
    _use_tokens(config, partner)
    _run_rpc(consents_cli.get_consent(target, consent_id, as_json, tls=tls), as_json)


@consent_app.command("withdraw")
def consent_withdraw_command(
    consent_id: str,
    partner: PartnerOption = "telecom-cn",
    target: TargetOption = "127.0.0.1:50051",
    as_json: JsonOption = False,
    tls_ca: TlsCaOption = None,
    tls_cert: TlsCertOption = None,
    tls_key: TlsKeyOption = None,
    config: ConfigOption = None,
) -> None:
    """Withdraw a consent: nothing more is sent to any partner under it."""
    tls = _tls(tls_ca, tls_cert, tls_key)
    _use_tokens(config, partner)
    _run_rpc(consents_cli.withdraw_consent(target, consent_id, as_json, tls=tls), as_json)


@app.command("orders")
def orders_command(
    partner: PartnerOption = "telecom-cn",
    target: TargetOption = "127.0.0.1:50051",
    as_json: JsonOption = False,
    tls_ca: TlsCaOption = None,
    tls_cert: TlsCertOption = None,
    tls_key: TlsKeyOption = None,
    config: ConfigOption = None,
) -> None:
    """List your orders."""
    _use_tokens(config, partner)
    _run_rpc(
        orders.list_orders(target, partner, as_json, tls=_tls(tls_ca, tls_cert, tls_key)), as_json
    )


@app.command("cancel")
def cancel_command(
    order_id: str,
    component: Annotated[list[str] | None, typer.Option(help="Component kind (repeat).")] = None,
    confirm: Annotated[bool, typer.Option(help="Cancel; without it, only quote refunds.")] = False,
    partner: PartnerOption = "telecom-cn",
    target: TargetOption = "127.0.0.1:50051",
    as_json: JsonOption = False,
    tls_ca: TlsCaOption = None,
    tls_cert: TlsCertOption = None,
    tls_key: TlsKeyOption = None,
    config: ConfigOption = None,
) -> None:
    """Quote the refunds of cancelling an order (or components); --confirm cancels."""
    tls = _tls(tls_ca, tls_cert, tls_key)
    _use_tokens(config, partner)
    _run_rpc(
        orders.cancel(target, order_id, partner, component or [], confirm, as_json, tls=tls),
        as_json,
    )


@app.command("watch")
def watch_command(
    order_id: str,
    after: Annotated[int, typer.Option(help="Events after this sequence.")] = 0,
    partner: PartnerOption = "telecom-cn",
    target: TargetOption = "127.0.0.1:50051",
    tls_ca: TlsCaOption = None,
    tls_cert: TlsCertOption = None,
    tls_key: TlsKeyOption = None,
    config: ConfigOption = None,
) -> None:
    """Follow an order's events until it is final."""
    tls = _tls(tls_ca, tls_cert, tls_key)
    _use_tokens(config, partner)
    _run_rpc(orders.watch(target, order_id, partner, after, tls=tls), False)


@app.command("feedback")
def feedback_command(
    score: Annotated[int, typer.Option(help="The customer's score, 0 to 10.")],
    solution: Annotated[str | None, typer.Option(help="The solution it is about.")] = None,
    order: Annotated[str | None, typer.Option(help="The order it is about.")] = None,
    comment: Annotated[str, typer.Option(help="The customer's own words.")] = "",
    partner: Annotated[
        str | None,
        typer.Option(
            help="Entry partner (needed for --solution with auth on, the default; with auth "
            "off: the solution's; for an order, telecom-cn)."
        ),
    ] = None,
    request_id: Annotated[str | None, typer.Option(help="Idempotency key (default: new).")] = None,
    target: TargetOption = "127.0.0.1:50051",
    as_json: JsonOption = False,
    tls_ca: TlsCaOption = None,
    tls_cert: TlsCertOption = None,
    tls_key: TlsKeyOption = None,
    config: ConfigOption = None,
) -> None:
    """Record a customer's 0-10 score on a solution (--solution) or an order (--order)."""
    if (solution is None) == (order is None):
        raise typer.BadParameter("give exactly one of --solution and --order")
    tls = _tls(tls_ca, tls_cert, tls_key)
    _use_tokens(config, partner)
    _run_rpc(
        feedback_cli.submit(
            target,
            solution_id=solution,
            order_id=order,
            score=score,
            comment=comment,
            partner=partner,
            request_id=request_id,
            as_json=as_json,
            tls=tls,
        ),
        as_json,
    )


@app.command("kpis")
def kpis_command(
    partner: Annotated[str | None, typer.Option(help="Only this entry partner.")] = None,
    recipe: Annotated[
        str | None, typer.Option(help="Only this recipe: name@version, or name for all.")
    ] = None,
    target: TargetOption = "127.0.0.1:50051",
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
    tls = _tls(tls_ca, tls_cert, tls_key)
    _use_tokens(config, partner)
    _run_rpc(feedback_cli.kpis(target, partner, recipe, as_json, tls=tls), as_json)


audit_app = typer.Typer(
    help="The audit log: check its hash chain, show its newest entries (reads the store directly).",
    no_args_is_help=True,
)
app.add_typer(audit_app, name="audit")

StateDirOption = Annotated[
    Path | None,
    typer.Option(help="The state directory of the embedded store (default: from the settings)."),
]
DsnOption = Annotated[
    str | None,
    typer.Option(help="PostgreSQL DSN of the shared store (default: from the settings)."),
]
PgSchemaOption = Annotated[
    str | None, typer.Option(help="With a DSN: the schema (default: from the settings).")
]


def _store_settings(
    config: Path | None, state_dir: Path | None, dsn: str | None, pg_schema: str | None
) -> GatewaySettings:
    """The settings naming the store to read directly; options beat the settings file."""
    settings = load_settings(config)
    changes = {"dsn": dsn, "pg_schema": pg_schema}
    try:
        storage = StorageSettings.model_validate(
            {**settings.storage.model_dump(), **{k: v for k, v in changes.items() if v}}
        )
    except ValidationError as exc:
        raise typer.BadParameter(str(exc), param_hint="--dsn/--pg-schema") from exc
    update: dict[str, Any] = {"storage": storage}
    if state_dir is not None:
        update["state_dir"] = state_dir
    settings = settings.model_copy(update=update)
    problem = audit_cli.missing_store(settings)
    if problem is not None:
        raise typer.BadParameter(problem, param_hint="--state-dir")
    return settings


@audit_app.command("verify")
def audit_verify_command(
    state_dir: StateDirOption = None,
    dsn: DsnOption = None,
    pg_schema: PgSchemaOption = None,
    batch: Annotated[int, typer.Option(min=1, help="Entries read at a time.")] = 1000,
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Check the audit log's hash chain from its first entry; exit code 1 when broken."""
    settings = _store_settings(config, state_dir, dsn, pg_schema)
    intact = asyncio.run(audit_cli.verify(settings, batch=batch, as_json=as_json, err=err))
    raise typer.Exit(0 if intact else 1)


@audit_app.command("list")
def audit_list_command(
    limit: Annotated[int, typer.Option(min=1, help="How many entries.")] = 20,
    after: Annotated[
        int | None, typer.Option(min=0, help="Entries after this seq (default: the newest).")
    ] = None,
    state_dir: StateDirOption = None,
    dsn: DsnOption = None,
    pg_schema: PgSchemaOption = None,
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per entry.")] = False,
) -> None:
    """Show audit entries: who did what to which subject, names of fields, hashes."""
    settings = _store_settings(config, state_dir, dsn, pg_schema)
    asyncio.run(audit_cli.list_entries(settings, limit=limit, after=after, as_json=as_json))


def _print_rpc_error(exc: grpc.aio.AioRpcError, as_json: bool) -> None:
    status = rpc_status.from_call(exc)  # type: ignore[arg-type]
    violations = commands.field_violations(status)
    if as_json:
        print(
            json.dumps(
                {
                    "error": {
                        "code": exc.code().name,
                        "message": exc.details(),
                        "field_violations": violations,
                    }
                }
            )
        )
        return
    err.print(f"[red]{exc.code().name}[/red]: {exc.details()}")
    for violation in violations:
        err.print(f"  • {violation['field']}: {violation['description']}")


def main() -> None:
    app()
