"""Helpers shared by the tests: talking to sandbox partners' control endpoints over HTTP, and
gRPC channels that carry partners' access tokens, as every call to a gateway needs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import grpc
import httpx2
import yaml
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status
from joserfc.jwk import ECKey

from gateway.cli.sandbox_partners import SANDBOX_PARTNER_IDS
from gateway.client.channels import ClientTls, open_channel
from gateway.client.credentials import PartnerTokens
from gateway.runtime import RunningGateway
from gateway.settings import GatewaySettings, IssuerClientSettings

if TYPE_CHECKING:
    # Only the type stubs know the async flavour; at run time it is the same stub class.
    from partnergateway.v1.solution_service_pb2_grpc import SolutionServiceAsyncStub

    Stub = SolutionServiceAsyncStub
else:
    Stub = Any


#: Acted as by test calls whose request names no partner (`GetSolution`, or a request that
#: leaves the partner to the token), unless the test picks another (`client.for_partner`).
DEFAULT_PARTNER = "telecom-cn"
#: Registered with the test issuer with a key (private_key_jwt) besides its secret.
KEY_CLIENT = "insurer-a"
#: A client of the test issuer that is no partner of the gateway.
STRANGER = "stranger"


def secret_of(client_id: str) -> str:
    """The client secret of every test issuer client."""
    return f"test-secret-{client_id}"


def issuer_clients(partner_ids: Iterable[str], key: ECKey) -> list[IssuerClientSettings]:
    """The test gateways' issuer clients: every partner with its secret (`KEY_CLIENT` also
    with `key`'s public half), and `STRANGER`."""
    clients = [
        IssuerClientSettings(
            client_id=pid,
            client_secret=secret_of(pid),
            jwks={"keys": [dict(key.as_dict(private=False))]} if pid == KEY_CLIENT else None,
        )
        for pid in partner_ids
    ]
    return [*clients, IssuerClientSettings(client_id=STRANGER, client_secret=secret_of(STRANGER))]


def partner_tokens(
    settings: GatewaySettings, gateway: RunningGateway, default_partner: str = DEFAULT_PARTNER
) -> PartnerTokens:
    """Tokens from `gateway`'s own issuer, as the command line gets them (same settings)."""
    return PartnerTokens.from_settings(
        settings, gateway.issuer_url, default_partner=default_partner
    )


def sandbox_tokens(issuer_url: str) -> PartnerTokens:
    """Tokens from the issuer of a `serve --sandbox` gateway set up by nobody, as the command
    line gets them there: the sandbox partners' well-known secrets (never a default of the
    settings, whose partners are none)."""
    return PartnerTokens.from_settings(
        GatewaySettings(), issuer_url, sandbox_partners=SANDBOX_PARTNER_IDS
    )


def bearer(token: str) -> tuple[tuple[str, str], ...]:
    """Call metadata carrying `token`; the token channels then add none of their own."""
    return (("authorization", f"Bearer {token}"),)


def write_client_config(settings: GatewaySettings, gateway: RunningGateway, path: Path) -> Path:
    """The settings a partner's operator gives the command line (`--config`) to call
    `gateway`: its issuer and the partners' secrets."""
    clients = [
        {"client_id": c.client_id, "client_secret": c.client_secret}
        for c in settings.auth.issuer.clients
        if c.client_secret
    ]
    path.write_text(
        yaml.safe_dump({"auth": {"issuer": {"url": gateway.issuer_url, "clients": clients}}}),
        encoding="utf-8",
    )
    return path


def token_channel(
    settings: GatewaySettings, gateway: RunningGateway, tls: ClientTls | None = None
) -> grpc.aio.Channel:
    """A channel to `gateway` whose calls carry the acting partner's token: the partner the
    request names, else `DEFAULT_PARTNER`."""
    return open_channel(gateway.target, tls, tokens=partner_tokens(settings, gateway))


class SandboxControl:
    """Reads ledgers and turns knobs of running sandbox partners, over real HTTP."""

    def __init__(self, base_urls: Mapping[str, str]) -> None:
        self.base_urls = dict(base_urls)
        self._http = httpx2.AsyncClient(timeout=10, trust_env=False)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def ledger(
        self, partner_id: str, operation: str | None = None, *, since: str = ""
    ) -> list[dict[str, Any]]:
        """Entries of `operation`; with `since` (from `now()`), only requests that arrived
        after it — a slow request of an earlier test is recorded only when it ends."""
        response = await self._http.get(f"{self.base_urls[partner_id]}/_sandbox/ledger")
        response.raise_for_status()
        entries: list[dict[str, Any]] = response.json()["entries"]
        return [
            e
            for e in entries
            if (operation is None or e["operation"] == operation) and e["at"] >= since
        ]

    @staticmethod
    def now() -> str:
        """The current time as the ledger writes it (RFC 3339, milliseconds, Z)."""
        return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")

    async def clear_ledgers(self) -> None:
        for url in self.base_urls.values():
            (await self._http.delete(f"{url}/_sandbox/ledger")).raise_for_status()

    async def knobs(self, partner_id: str) -> dict[str, Any]:
        response = await self._http.get(f"{self.base_urls[partner_id]}/_sandbox/knobs")
        response.raise_for_status()
        knobs: dict[str, Any] = response.json()
        return knobs

    async def set_knobs(self, partner_id: str, **knobs: Any) -> dict[str, Any]:
        response = await self._http.patch(
            f"{self.base_urls[partner_id]}/_sandbox/knobs", json=knobs
        )
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    async def sell(self, partner_id: str, quote: Mapping[str, Any], pick: int = 0) -> str:
        """A direct sale at the partner's own counter (`/_sandbox/sales`): the customer
        already holds it before any composition. Returns the booking's reference."""
        response = await self._http.post(
            f"{self.base_urls[partner_id]}/_sandbox/sales",
            json={"quote": dict(quote), "pick": pick},
        )
        response.raise_for_status()
        reference: str = response.json()["reference"]
        return reference

    async def count(self, partner_id: str, operation: str, *, since: str = "") -> int:
        return len(await self.ledger(partner_id, operation, since=since))


def rich_status(error: grpc.aio.AioRpcError) -> status_pb2.Status:
    status: status_pb2.Status | None = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None, "the error carries no google.rpc.Status"
    return status


def error_info(status: status_pb2.Status) -> error_details_pb2.ErrorInfo:
    for detail in status.details:
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info):
            return info
    raise AssertionError("no ErrorInfo in status")


def violated_fields(status: status_pb2.Status) -> set[str]:
    for detail in status.details:
        bad = error_details_pb2.BadRequest()
        if detail.Unpack(bad):
            return {v.field for v in bad.field_violations}
    return set()
