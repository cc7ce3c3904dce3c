"""Access tokens for gRPC clients of the gateway: the command line, the demo, the tests and the
benchmark all attach them the same way, through the client interceptors made here.

Each call is made with a token of the partner it acts for: the partner the request names
(`entry.partner_id` or `partner_id`); for a request that names none (`GetSolution`, or one
leaving the partner to the token), the partner of an enclosing `acting_as(...)` block, else
the `default_partner` of the tokens (the CLI's `--partner`). Tokens are obtained by client
credentials (`client_secret_basic`, with that partner's secret from `auth.issuer.clients`)
from the embedded issuer's token endpoint, or `auth.token_url`, and kept until shortly before
they expire. A call that already carries an `authorization` entry is left as it is, and so
are health checks, which need no token. With `auth.required: false`, nothing is added.

The commands read the settings once (`use_tokens`), and `open_channel` attaches the
interceptors to every channel it opens, so the command bodies stay as they are.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable, Iterator, Mapping
from contextvars import ContextVar
from typing import Any
from urllib.parse import quote

import grpc
import httpx2
from google.protobuf import message

from gateway.auth import is_exempt
from gateway.cli.errors import CliError, IssuerUnreachable
from gateway.settings import GatewaySettings, IssuerClientSettings

__all__ = [
    "PartnerTokens",
    "acting_as",
    "active_tokens",
    "bearer_interceptors",
    "sandbox_clients",
    "use_tokens",
]

# A token this close to expiry is replaced rather than sent.
_REFRESH_MARGIN_S = 30.0


def sandbox_clients(partner_ids: Iterable[str]) -> list[IssuerClientSettings]:
    """The embedded issuer's clients when the sandbox runs and none are configured (`demo`,
    `serve --sandbox`): one per partner, with a well-known secret — for loopback demos only."""
    return [
        IssuerClientSettings(client_id=pid, client_secret=f"sandbox-client-secret-{pid}")
        for pid in partner_ids
    ]


class PartnerTokens:
    """Access tokens for the partners this process acts as."""

    def __init__(
        self,
        *,
        required: bool,
        token_url: str | None = None,
        secrets: Mapping[str, str] | None = None,
        audience: str = "",
        default_partner: str | None = None,
    ) -> None:
        self.required = required
        self.token_url = token_url
        self.default_partner = default_partner
        """Acted as by calls whose request names no partner, outside any `acting_as` block."""
        self._secrets = dict(secrets or {})
        self._audience = audience
        self._tokens: dict[str, tuple[str, float]] = {}
        self._lock = asyncio.Lock()

    @classmethod
    def from_settings(
        cls,
        settings: GatewaySettings,
        issuer_url: str | None = None,
        *,
        default_partner: str | None = None,
    ) -> PartnerTokens:
        """From `auth`; `issuer_url` is the embedded issuer's when this process runs it (its
        port may have been chosen at start). Without configured clients, the sandbox
        partners' well-known secrets, as `demo` and `serve --sandbox` register them."""
        auth = settings.auth
        if not auth.required:
            return cls(required=False)
        issuer = issuer_url or auth.issuer.url or f"http://{auth.issuer.address}"
        clients = auth.issuer.clients or sandbox_clients(p.id for p in settings.partners)
        return cls(
            required=True,
            token_url=auth.token_url or f"{issuer.rstrip('/')}/oauth/token",
            secrets={c.client_id: c.client_secret for c in clients if c.client_secret},
            audience=auth.audience,
            default_partner=default_partner,
        )

    def can_act_as(self, partner_id: str) -> bool:
        """Whether a token of `partner_id` can be asked for: its secret is known."""
        return partner_id in self._secrets

    def acting_partner(self, request: object) -> str | None:
        """Whom a call with `request` acts for: see the module docstring."""
        return _partner_of(request) or _ACTING.get() or self.default_partner

    async def token(self, partner_id: str) -> str:
        async with self._lock:
            cached = self._tokens.get(partner_id)
            if cached is not None and cached[1] - _REFRESH_MARGIN_S > time.monotonic():
                return cached[0]
            token, lifetime_s = await self._fetch(partner_id)
            self._tokens[partner_id] = (token, time.monotonic() + lifetime_s)
            return token

    async def _fetch(self, partner_id: str) -> tuple[str, float]:
        secret = self._secrets.get(partner_id)
        if secret is None or self.token_url is None:
            raise CliError(
                f"no client secret for {partner_id} in auth.issuer.clients: cannot get a token"
            )
        # RFC 6749 §2.3.1: id and secret are form-encoded before Basic joins them.
        try:
            async with httpx2.AsyncClient(timeout=10, trust_env=False) as http:
                response = await http.post(
                    self.token_url,
                    data={"grant_type": "client_credentials", "resource": self._audience},
                    auth=(quote(partner_id, safe=""), quote(secret, safe="")),
                )
        except httpx2.HTTPError as exc:
            reason = str(exc) or type(exc).__name__
            raise IssuerUnreachable(
                f"cannot get a token for {partner_id} from {self.token_url} ({reason}): is the "
                "gateway's token issuer there? (auth.issuer.url or auth.token_url, --config)"
            ) from exc
        if response.status_code != 200:
            raise CliError(
                f"the token endpoint refused {partner_id}: {response.status_code} {response.text}"
            )
        body = response.json()
        return str(body["access_token"]), float(body.get("expires_in", 60))


_ACTIVE: ContextVar[PartnerTokens | None] = ContextVar("gateway_cli_tokens", default=None)
_ACTING: ContextVar[str | None] = ContextVar("gateway_cli_acting_partner", default=None)


@contextlib.contextmanager
def acting_as(partner_id: str) -> Iterator[None]:
    """Calls started in this block (in this context) whose request names no partner carry
    `partner_id`'s token. grpc.aio runs a call's interceptors in a task created with the
    call, so what counts is where the call is made, not where it is awaited."""
    previous = _ACTING.set(partner_id)
    try:
        yield
    finally:
        _ACTING.reset(previous)


def use_tokens(tokens: PartnerTokens) -> None:
    """The tokens channels opened from now on (in this context) attach to their calls."""
    _ACTIVE.set(tokens)


def active_tokens() -> PartnerTokens:
    return _ACTIVE.get() or PartnerTokens(required=False)


def _partner_of(request: object) -> str | None:
    if not isinstance(request, message.Message):
        return None
    fields = request.DESCRIPTOR.fields_by_name
    if "entry" in fields:
        partner = str(getattr(request, "entry").partner_id)  # noqa: B009 - typed as Message
    elif "partner_id" in fields:
        partner = str(getattr(request, "partner_id"))  # noqa: B009
    else:
        return None
    return partner or None


class _Bearer:
    def __init__(self, tokens: PartnerTokens) -> None:
        self._tokens = tokens

    async def _details(
        self, details: grpc.aio.ClientCallDetails, request: object
    ) -> grpc.aio.ClientCallDetails:
        metadata = grpc.aio.Metadata(*(details.metadata or ()))
        method = details.method.decode() if isinstance(details.method, bytes) else details.method
        if "authorization" in metadata or is_exempt(method):
            return details  # the caller brought its own token, or the RPC needs none
        partner = self._tokens.acting_partner(request)
        if partner is None:
            raise CliError("the gateway requires tokens: say which partner you act as (--partner)")
        token = await self._tokens.token(partner)
        metadata.add("authorization", f"Bearer {token}")
        return grpc.aio.ClientCallDetails(
            details.method, details.timeout, metadata, details.credentials, details.wait_for_ready
        )


class _UnaryBearer(_Bearer, grpc.aio.UnaryUnaryClientInterceptor):  # type: ignore[type-arg]
    async def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return await continuation(await self._details(details, request), request)


class _StreamBearer(_Bearer, grpc.aio.UnaryStreamClientInterceptor):  # type: ignore[type-arg]
    async def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return await continuation(await self._details(details, request), request)


def bearer_interceptors(tokens: PartnerTokens | None = None) -> list[Any]:
    """Client interceptors adding the acting partner's token, from `tokens` or else the
    active ones; none when auth is off. (Any: grpc-stubs types `interceptors` as a partial
    stub that nothing satisfies.)"""
    tokens = tokens or active_tokens()
    if not tokens.required:
        return []
    return [_UnaryBearer(tokens), _StreamBearer(tokens)]
