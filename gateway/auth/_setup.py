"""Wiring authentication from settings: the embedded issuer (when enabled) and the validating
interceptor (when callers must authenticate)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass

import httpx2

from gateway.auth._http import bind, serving
from gateway.auth._interceptor import AuthInterceptor
from gateway.auth._issuer import IssuerClient, TokenIssuer, load_signing_key
from gateway.auth._issuer_app import issuer_app
from gateway.auth._jwks import IssuerKeys, KeyPolicy
from gateway.auth._scopes import ALL_SCOPES
from gateway.auth._validator import TokenValidator, TrustedIssuer
from gateway.settings import AuthSettings, TokenIssuerSettings

__all__ = ["AuthRuntime", "auth_runtime", "issuer_clients"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AuthRuntime:
    interceptor: AuthInterceptor | None
    """None when callers need not authenticate (`auth.required: false`)."""
    issuer_url: str | None
    """The embedded issuer's identifier, when it runs."""
    validator: TokenValidator | None = None


def issuer_clients(settings: TokenIssuerSettings) -> list[IssuerClient]:
    return [
        IssuerClient.build(
            c.client_id,
            c.client_secret,
            c.jwks,
            c.scopes if c.scopes is not None else ALL_SCOPES,
        )
        for c in settings.clients
    ]


@contextlib.asynccontextmanager
async def _embedded_issuer(
    settings: AuthSettings, *, reuse_port: bool
) -> AsyncIterator[TokenIssuer]:
    config = settings.issuer
    sock = bind(config.address, reuse_port=reuse_port)
    try:
        host, port = sock.getsockname()[:2]
        url = config.url or f"http://{f'[{host}]' if ':' in host else host}:{port}"
        issuer = TokenIssuer(
            issuer=url,
            audience=settings.audience,
            key=load_signing_key(config.signing_key_file),
            clients=issuer_clients(config),
            ttl_s=config.token_ttl_s,
            leeway_s=settings.leeway_s,
        )
    except BaseException:
        sock.close()
        raise
    async with serving(issuer_app(issuer), sock):
        log.info("token issuer %s serving", issuer.issuer)
        yield issuer


@contextlib.asynccontextmanager
async def auth_runtime(
    settings: AuthSettings, partner_ids: Collection[str], *, reuse_port: bool = False
) -> AsyncIterator[AuthRuntime]:
    """The embedded issuer serving (if enabled) and the interceptor (if required), until the
    block ends."""
    async with contextlib.AsyncExitStack() as stack:
        trusted: list[TrustedIssuer] = []
        issuer_url = None
        http = httpx2.AsyncClient(
            timeout=settings.jwks_timeout_s, trust_env=False, follow_redirects=False
        )
        stack.push_async_callback(http.aclose)
        policy = KeyPolicy(settings.jwks_cache_ttl_s, settings.jwks_refetch_interval_s)
        if settings.issuer.enabled:
            issuer = await stack.enter_async_context(
                _embedded_issuer(settings, reuse_port=reuse_port)
            )
            issuer_url = issuer.issuer
            keys = IssuerKeys(issuer.issuer, issuer.jwks_uri, http, policy)
            trusted.append(TrustedIssuer(keys, frozenset({"ES256"})))
        if not settings.required:
            yield AuthRuntime(None, issuer_url)
            return
        for config in settings.trusted_issuers:
            keys = IssuerKeys(config.issuer, config.jwks_uri, http, policy)
            trusted.append(TrustedIssuer(keys, frozenset(config.algorithms)))
        validator = TokenValidator(trusted, settings.audience, settings.leeway_s)
        yield AuthRuntime(AuthInterceptor(validator, partner_ids), issuer_url, validator)
