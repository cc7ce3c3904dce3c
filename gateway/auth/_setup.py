"""Wiring authentication from settings: the embedded issuer (when enabled) and the validating
interceptor (when callers must authenticate, the default).

A gateway that requires tokens nobody can obtain would refuse every call, so it refuses to
start instead (`missing_token_source`); one that requires none says so loudly at start."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx2

from gateway.auth._http import bind, serving
from gateway.auth._interceptor import AuthInterceptor
from gateway.auth._issuer import IssuerClient, TokenIssuer, load_signing_key
from gateway.auth._issuer_app import issuer_app
from gateway.auth._jwks import IssuerKeys, KeyPolicy
from gateway.auth._scopes import ALL_SCOPES
from gateway.auth._validator import TokenValidator, TrustedIssuer

if TYPE_CHECKING:
    # Types only: the settings import the booking saga's policy, and the booking package
    # imports this one, so a run-time import here would be a cycle.
    from gateway.settings import AuthSettings, TokenIssuerSettings

__all__ = ["AuthRuntime", "auth_runtime", "issuer_clients", "missing_token_source"]

log = logging.getLogger(__name__)

_AUTH_OFF_WARNING = (
    "AUTHENTICATION IS OFF (auth.required: false): anyone who reaches this gateway can act as "
    "any partner. For local experiments only — see docs/security.md"
)


@dataclass(frozen=True)
class AuthRuntime:
    interceptor: AuthInterceptor | None
    """None when callers need not authenticate (`auth.required: false`)."""
    issuer_url: str | None
    """The embedded issuer's identifier, when it runs."""
    validator: TokenValidator | None = None


def missing_token_source(settings: AuthSettings) -> str | None:
    """Why no caller could ever get a token the gateway accepts, or None when one can: tokens
    are required, no external issuer is trusted and the embedded issuer has no clients."""
    if not settings.required or settings.trusted_issuers:
        return None
    if settings.issuer.enabled and settings.issuer.clients:
        return None
    return (
        "auth.required is on, but no caller could ever get a token: register the partners as "
        "clients of the embedded issuer (auth.issuer.clients, each with a client_secret or "
        "jwks), or trust your identity provider (auth.trusted_issuers). `serve --sandbox` and "
        "`demo` register the sandbox partners by themselves. auth.required: false turns "
        "authentication off, for local experiments only. See docs/security.md."
    )


def _http_url(host: str, port: int) -> str:
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"


def _local_url(host: str, port: int) -> str:
    """How this process reaches a socket it bound: a wildcard host is reached on loopback."""
    return _http_url({"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host), port)


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
) -> AsyncIterator[tuple[TokenIssuer, str]]:
    """The issuer serving, and where this process fetches its keys: on the bound socket, not
    through `url`, which may name a load balancer in front of several replicas."""
    config = settings.issuer
    sock = bind(config.address, reuse_port=reuse_port)
    try:
        host, port = sock.getsockname()[:2]
        local = _local_url(host, port)
        url = config.url or _http_url(host, port)
        issuer = TokenIssuer(
            issuer=url,
            audience=settings.audience,
            key=load_signing_key(config.signing_key_file),
            clients=issuer_clients(config),
            ttl_s=config.token_ttl_s,
            leeway_s=settings.leeway_s,
            session_ttl_s=config.session_token_ttl_s,
        )
    except BaseException:
        sock.close()
        raise
    async with serving(issuer_app(issuer), sock):
        log.info("token issuer %s serving", issuer.issuer)
        yield issuer, f"{local}/jwks.json"


@contextlib.asynccontextmanager
async def auth_runtime(
    settings: AuthSettings, partner_ids: Collection[str], *, reuse_port: bool = False
) -> AsyncIterator[AuthRuntime]:
    """The embedded issuer serving (if enabled) and the interceptor (if required), until the
    block ends. Refuses (ValueError) tokens nobody could obtain: `missing_token_source`."""
    problem = missing_token_source(settings)
    if problem is not None:
        raise ValueError(problem)
    if not settings.required:
        log.warning(_AUTH_OFF_WARNING)
    async with contextlib.AsyncExitStack() as stack:
        trusted: list[TrustedIssuer] = []
        issuer_url = None
        http = httpx2.AsyncClient(
            timeout=settings.jwks_timeout_s, trust_env=False, follow_redirects=False
        )
        stack.push_async_callback(http.aclose)
        policy = KeyPolicy(
            settings.jwks_cache_ttl_s,
            settings.jwks_refetch_interval_s,
            settings.jwks_first_fetch_retry_s,
        )
        if settings.issuer.enabled:
            issuer, local_jwks_uri = await stack.enter_async_context(
                _embedded_issuer(settings, reuse_port=reuse_port)
            )
            issuer_url = issuer.issuer
            keys = IssuerKeys(issuer.issuer, local_jwks_uri, http, policy)
            trusted.append(TrustedIssuer(keys, frozenset({"ES256"})))
        if not settings.required:
            yield AuthRuntime(None, issuer_url)
            return
        for config in settings.trusted_issuers:
            keys = IssuerKeys(config.issuer, config.jwks_uri, http, policy)
            trusted.append(TrustedIssuer(keys, frozenset(config.algorithms)))
        validator = TokenValidator(trusted, settings.audience, settings.leeway_s)
        yield AuthRuntime(AuthInterceptor(validator, partner_ids), issuer_url, validator)
