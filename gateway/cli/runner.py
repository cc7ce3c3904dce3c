"""Running one client command: the partner it acts as, and its failures said to a person.

Every failure a person can act on ends in one line and exit code 2: a gateway that is not
there, a token that cannot be had, an error status (with its field violations, and which
partner to act as when this command line knows better). No usage banner, no traceback.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import grpc
import typer
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status
from rich.console import Console
from rich.markup import escape

from gateway.cli.errors import gateway_listening, no_gateway_message
from gateway.cli.memory import Memory, Subject
from gateway.cli.options import client_target
from gateway.cli.sandbox_partners import SANDBOX_PARTNER_IDS
from gateway.client import (
    ClientError,
    ClientTls,
    GatewayClient,
    IssuerUnreachable,
    NoActingPartner,
    PartnerTokens,
)
from gateway.settings import GatewaySettings, load_settings

__all__ = ["Acting", "Hint", "Prepared", "err", "fail", "field_violations", "prepare", "run"]

T = TypeVar("T")
Hint = Callable[[grpc.aio.AioRpcError], str | None]

# Word-wrapped for a person at a terminal; one line per message when captured (tests, logs).
err = Console(stderr=True, soft_wrap=not sys.stderr.isatty())

_VERB = {Subject.SOLUTION: "composed", Subject.ORDER: "booked", Subject.CONSENT: "collected"}


@dataclass(frozen=True)
class Acting:
    """Whom a command about one id acts as: `--partner`, else the partner this command line
    composed or booked it as (`gateway.cli.memory`)."""

    subject: Subject
    subject_id: str
    given: str | None
    remembered: str | None

    @property
    def partner(self) -> str | None:
        return self.given or self.remembered

    def hint(self, exc: grpc.aio.AioRpcError) -> str | None:
        """For an answer that hides another partner's id: which partner to act as instead."""
        refused = exc.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.PERMISSION_DENIED)
        if not refused or self.remembered is None or self.remembered == self.given:
            return None
        return (
            f"{self.subject} {self.subject_id} was {_VERB[self.subject]} as {self.remembered} "
            f"from this command line: act as it (--partner {self.remembered}, or leave "
            "--partner out)"
        )

    def someone_else(self) -> str | None:
        """A note when `--partner` names another partner than the one remembered: the gateway
        shows a partner only its own part."""
        if self.given is None or self.remembered is None or self.given == self.remembered:
            return None
        return (
            f"acting as {self.given}, which sees only its own part; {self.subject} "
            f"{self.subject_id} was {_VERB[self.subject]} as {self.remembered}"
        )

    def required(self) -> str:
        """The partner, or a failure asking for one."""
        if self.partner is None:
            fail(
                f"say which partner you act as (--partner): {self.subject} {self.subject_id} "
                f"was not {_VERB[self.subject]} from this command line"
            )
        return self.partner


@dataclass(frozen=True)
class Prepared:
    settings: GatewaySettings
    memory: Memory
    target: str

    def client(self, partner: str | None, tls: ClientTls | None = None) -> GatewayClient:
        """A client of the gateway whose calls act as `partner` unless their request names
        another; with tokens from the settings' issuer when the gateway requires them (the
        default). Without configured issuer clients, the gateway is taken for a `serve
        --sandbox` one, whose issuer knows the sandbox partners by their well-known secrets."""
        tokens = PartnerTokens.from_settings(
            self.settings, default_partner=partner, sandbox_partners=SANDBOX_PARTNER_IDS
        )
        return GatewayClient(self.target, tls=tls, tokens=tokens)


def prepare(config: Path | None, target: str | None) -> Prepared:
    """The settings (`--config`, `PSG_*`), the gateway to call (`--target`, else where the
    settings make `serve` listen) and this command line's memory of partners."""
    try:
        settings = load_settings(config)
    except (FileNotFoundError, ValueError) as exc:
        fail(str(exc))
    return Prepared(
        settings,
        Memory.under(settings.state_dir),
        target or client_target(settings.server.address),
    )


def run(
    coroutine: Coroutine[Any, Any, T],
    *,
    client: GatewayClient,
    as_json: bool,
    hint: Hint | None = None,
) -> T:
    """Runs a client command's body, which calls through `client` (closed after it); any
    failure is said in one line and exits 2."""
    target = client.target
    try:
        return asyncio.run(_closing(client, coroutine))
    except IssuerUnreachable as exc:
        if gateway_listening(target) is False:
            _no_gateway(target, as_json)
        fail(str(exc))
    except NoActingPartner:
        fail("the gateway requires tokens: say which partner you act as (--partner)")
    except ClientError as exc:
        fail(str(exc))
    except grpc.aio.AioRpcError as exc:
        if exc.code() == grpc.StatusCode.UNAVAILABLE and gateway_listening(target) is False:
            _no_gateway(target, as_json)
        _print_rpc_error(exc, as_json)
        said = hint(exc) if hint is not None else None
        if said:
            err.print(f"[yellow]{escape(said)}[/yellow]")
        raise typer.Exit(2) from exc
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


async def _closing(client: GatewayClient, body: Coroutine[Any, Any, T]) -> T:
    try:
        return await body
    finally:
        await client.aclose()


def fail(message: str) -> NoReturn:
    err.print(f"[red]error:[/red] {escape(message)}")
    raise typer.Exit(2)


def _no_gateway(target: str, as_json: bool) -> NoReturn:
    message = no_gateway_message(target)
    if as_json:
        print(json.dumps({"error": {"code": "UNAVAILABLE", "message": message}}))
    fail(message)


def _print_rpc_error(exc: grpc.aio.AioRpcError, as_json: bool) -> None:
    status = rpc_status.from_call(exc)  # type: ignore[arg-type]
    violations = field_violations(status)
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
    err.print(f"[red]{exc.code().name}[/red]: {escape(exc.details() or '')}")
    for violation in violations:
        err.print(f"  • {escape(violation['field'])}: {escape(violation['description'])}")


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
