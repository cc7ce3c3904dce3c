"""Access tokens for gRPC clients of the gateway: the command line, the demo, the tests and the
benchmark all attach them the same way, through the client interceptors made here.

Each call carries a token of the partner it acts for, chosen explicitly: the partner the
request names (`entry.partner_id` or `partner_id`), else the `default_partner` of the tokens
the channel was opened with (`PartnerTokens.for_partner` gives the same tokens acting for
another partner). Nothing ambient decides it. Tokens are obtained by client credentials
(`client_secret_basic`, with that partner's secret) from the issuer's token endpoint, and kept
until shortly before they expire. A call that already carries an `authorization` entry is left
as it is, and so are calls outside the gateway's own services (health checks, reflection),
which need no token. With `required=False` (a gateway with `auth.required: false`), nothing is
added.
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import grpc
import httpx2
from google.protobuf import message

from gateway.client._errors import ClientError, IssuerUnreachable, NoActingPartner

if TYPE_CHECKING:
    # Read, never built: importing the settings at run time would load the gateway's
    # server-side dependencies into every client.
    from gateway.settings import GatewaySettings

__all__ = ["PartnerTokens", "bearer_interceptors", "sandbox_secret"]

# A token this close to expiry is replaced rather than sent.
_REFRESH_MARGIN_S = 30.0
# The gateway's own services take tokens; the standard ones (grpc.health.v1, reflection)
# are served without.
_TOKEN_SERVICES = "/partnergateway."


def sandbox_secret(partner_id: str) -> str:
    """The well-known client secret of `partner_id` at the embedded issuer when the sandbox runs
    and no clients are configured (`demo`, `serve --sandbox`) — for loopback demos only."""
    return f"sandbox-client-secret-{partner_id}"


@dataclass
class _TokenCache:
    """Tokens by partner with their expiry (monotonic), shared by every view of one
    `PartnerTokens`, so acting for another partner never fetches a token twice."""

    tokens: dict[str, tuple[str, float]] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


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
        """Acted as by calls whose request names no partner."""
        self._secrets = dict(secrets or {})
        self._audience = audience
        self._cache = _TokenCache()

    @classmethod
    def from_settings(
        cls,
        settings: GatewaySettings,
        issuer_url: str | None = None,
        *,
        default_partner: str | None = None,
        sandbox_partners: Iterable[str] = (),
    ) -> PartnerTokens:
        """From `auth`; `issuer_url` is the embedded issuer's when this process runs it (its
        port may have been chosen at start). Without configured clients, the well-known
        secrets of `sandbox_partners`, as `demo` and `serve --sandbox` register them: the
        command line names the sandbox's partners (never the settings' own, which are no
        sandbox's by default)."""
        auth = settings.auth
        if not auth.required:
            return cls(required=False, default_partner=default_partner)
        issuer = issuer_url or auth.issuer.url or f"http://{auth.issuer.address}"
        if auth.issuer.clients:
            secrets = {c.client_id: c.client_secret for c in auth.issuer.clients if c.client_secret}
        else:
            secrets = {pid: sandbox_secret(pid) for pid in sandbox_partners}
        return cls(
            required=True,
            token_url=auth.token_url or f"{issuer.rstrip('/')}/oauth/token",
            secrets=secrets,
            audience=auth.audience,
            default_partner=default_partner,
        )

    def for_partner(self, partner_id: str) -> PartnerTokens:
        """These tokens acting for `partner_id` when a request names no partner; the cache is
        shared, so each partner's token is still fetched once."""
        view = copy.copy(self)
        view.default_partner = partner_id
        return view

    def can_act_as(self, partner_id: str) -> bool:
        """Whether a token of `partner_id` can be asked for: its secret is known."""
        return partner_id in self._secrets

    def acting_partner(self, request: object) -> str | None:
        """Whom a call with `request` acts for: the partner it names, else the default."""
        return _partner_of(request) or self.default_partner

    async def token(self, partner_id: str) -> str:
        cache = self._cache
        async with cache.lock:
            cached = cache.tokens.get(partner_id)
            if cached is not None and cached[1] - _REFRESH_MARGIN_S > time.monotonic():
                return cached[0]
            token, lifetime_s = await self._fetch(partner_id)
            cache.tokens[partner_id] = (token, time.monotonic() + lifetime_s)
            return token

    async def _fetch(self, partner_id: str) -> tuple[str, float]:
        secret = self._secrets.get(partner_id)
        if secret is None or self.token_url is None:
            raise ClientError(
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
            raise ClientError(
                f"the token endpoint refused {partner_id}: {response.status_code} {response.text}"
            )
        body = response.json()
        return str(body["access_token"]), float(body.get("expires_in", 60))


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
        if "authorization" in metadata or not method.startswith(_TOKEN_SERVICES):
            return details  # the caller brought its own token, or the RPC needs none
        partner = self._tokens.acting_partner(request)
        if partner is None:
            raise NoActingPartner(
                f"the gateway requires tokens, and nothing says which partner {method} acts "
                "for: name it in the request, or give the client a default partner"
            )
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


def bearer_interceptors(tokens: PartnerTokens | None) -> list[Any]:
    """Client interceptors adding the acting partner's token from `tokens`; none without
    tokens or when they are not required. (Any: grpc-stubs types `interceptors` as a partial
    stub that nothing satisfies.)"""
    if tokens is None or not tokens.required:
        return []
    return [_UnaryBearer(tokens), _StreamBearer(tokens)]
