"""The `partner-gateway` command. Typer runs no async commands: each wraps `asyncio.run`.

The serving commands (`serve`, `sandbox`, `demo`) and the audit commands live here; the client
commands (`compose` … `consent`) in `gateway.cli.client_commands`.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.markup import escape

from gateway.auth import missing_token_source
from gateway.cli import audit as audit_cli
from gateway.cli import client_commands, commands, workers
from gateway.cli.logs import setup_logging
from gateway.cli.options import ConfigOption
from gateway.cli.otel_edge import edge_telemetry
from gateway.cli.runner import err
from gateway.cli.sandbox_partners import check_knobs, knobs_help, parse_knobs, run_sandbox
from gateway.settings import GatewaySettings, StorageSettings, load_settings

app = typer.Typer(help="Partner Solution Gateway", no_args_is_help=True, add_completion=False)

KnobOption = Annotated[
    list[str] | None,
    typer.Option(
        help="PARTNER.KNOB=VALUE at start, e.g. airline-a.latency_ms=500 (repeat); the knobs: "
        "`partner-gateway sandbox --help`."
    ),
]


def _knobs(items: list[str] | None) -> dict[str, dict[str, Any]]:
    try:
        knobs = parse_knobs(items or [])
        check_knobs(knobs)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--knob") from exc
    return knobs


_NO_PARTNERS = (
    "no partners are configured, so the gateway could compose nothing: list them under "
    "`partners` in the settings (--config FILE, see docs/configuration.md), or run the "
    "sandbox partners with it: `serve --sandbox`."
)


def _start_problems(settings: GatewaySettings) -> list[str]:
    """Why a gateway with these settings would be of no use to anyone: no partners to ask,
    or no caller able to get a token."""
    problems = [] if settings.partners else [_NO_PARTNERS]
    token_problem = missing_token_source(settings.auth)
    return problems if token_problem is None else [*problems, token_problem]


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
    knob: KnobOption = None,
    worker: Annotated[
        int | None, typer.Option(hidden=True, help="Internal: run as worker INDEX of --workers.")
    ] = None,
) -> None:
    """Run the gateway until SIGTERM/SIGINT (health turns NOT_SERVING, then calls drain).

    Without --sandbox, configure the partners to ask (partners) and who can get a token to
    call (auth.issuer.clients or auth.trusted_issuers; tokens are required by default), or it
    refuses to start."""
    settings = load_settings(config)
    setup_logging(settings.log_level)
    knobs = _knobs(knob)
    if knobs and not sandbox:
        raise typer.BadParameter(
            "knobs are the sandbox partners': add --sandbox", param_hint="--knob"
        )
    # --sandbox brings partners and their tokens; a worker's settings were checked by its parent.
    problems = [] if sandbox or worker is not None else _start_problems(settings)
    for problem in problems:
        err.print(f"[red]Not starting:[/red] {escape(problem)}")
    if problems:
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
                settings,
                workers=workers_,
                sandbox=sandbox,
                address=listen,
                console=err,
                knobs=knobs,
            )
        )
        raise typer.Exit(code)
    asyncio.run(
        commands.serve(settings, sandbox=sandbox, address=address, console=err, knobs=knobs)
    )


@app.command("sandbox", epilog=knobs_help())
def sandbox_command(
    host: Annotated[str, typer.Option(help="Loopback address to listen on.")] = "127.0.0.1",
    base_port: Annotated[int, typer.Option(help="First port (0 = free ports).")] = 8401,
    knob: KnobOption = None,
) -> None:
    """Run the sandbox partners alone (they keep their ledgers while a gateway restarts).

    Knobs can be changed later with PATCH /_sandbox/knobs on each partner (see
    docs/partner-protocol.md)."""
    knobs = _knobs(knob)
    setup_logging("WARNING")

    async def body() -> None:
        telemetry = edge_telemetry("sandbox-partners", err)
        try:
            tracer_provider = telemetry.tracer_provider if telemetry.enabled else None
            await run_sandbox(host, base_port, knobs, err, tracer_provider)
        finally:
            telemetry.shutdown()

    asyncio.run(body())


@app.command()
def demo(
    once: Annotated[bool, typer.Option(help="Compose, print, exit.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per solution.")] = False,
    config: ConfigOption = None,
) -> None:
    """Gateway + sandbox partners; one customer's trip entered at each of the four partners."""
    settings = load_settings(config)
    setup_logging("WARNING")
    ok = asyncio.run(commands.demo(settings, once=once, as_json=as_json, console=err))
    raise typer.Exit(0 if ok else 1)


client_commands.register(app)

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


def main() -> None:
    app()
