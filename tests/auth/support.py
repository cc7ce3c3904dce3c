"""Helpers for the authentication tests: a fake issuer whose keys are served through an
httpx2 MockTransport (the seam `IssuerKeys` fetches through), and token minting, honest or
forged."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import time
from typing import Any

import grpc
import httpx2
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from gateway.auth import IssuerKeys, KeyPolicy, TokenValidator, TrustedIssuer
from tests.support import bearer

__all__ = ["bearer"]  # for the tests of this package, as before

AUDIENCE = "urn:partner-gateway"
ISSUER = "https://issuer.test"
SigningKey = ECKey | RSAKey


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64_json(value: dict[str, Any]) -> str:
    return b64(json.dumps(value).encode())


def claims(**overrides: Any) -> dict[str, Any]:
    """An access token's claims for `telecom-cn`, valid for five minutes; `None` drops one."""
    now = int(time.time())
    base: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "telecom-cn",
        "client_id": "telecom-cn",
        "scope": "solutions:compose orders:read",
        "iat": now,
        "exp": now + 300,
        "jti": secrets.token_urlsafe(8),
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def sign(key: SigningKey, payload: dict[str, Any], **header: Any) -> str:
    """A JWS signed by `key`; header defaults: its alg, `typ` at+jwt, its `kid`."""
    alg = "ES256" if isinstance(key, ECKey) else "RS256"
    full = {"alg": alg, "typ": "at+jwt", "kid": key.kid, **header}
    full = {k: v for k, v in full.items() if v is not None}
    return jwt.encode(full, payload, key, algorithms=[full["alg"]], default_type=None)


def unsigned(payload: dict[str, Any]) -> str:
    """`alg: none`: no signature at all."""
    return f"{b64_json({'alg': 'none', 'typ': 'at+jwt'})}.{b64_json(payload)}."


def hmac_with_public_key(key: ECKey, payload: dict[str, Any]) -> str:
    """The algorithm-confusion forgery: HS256 keyed with the issuer's *public* key."""
    secret = key.as_pem(private=False)
    signing_input = (
        f"{b64_json({'alg': 'HS256', 'typ': 'at+jwt', 'kid': key.kid})}.{b64_json(payload)}"
    )
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


class FakeIssuer:
    """An issuer's discovery document and JWKS behind a MockTransport, counting fetches."""

    def __init__(self, issuer: str = ISSUER, *, delay_s: float = 0.0) -> None:
        self.issuer = issuer
        self.keys: list[SigningKey] = [ECKey.generate_key("P-256", private=True, auto_kid=True)]
        self.extra_jwks: list[dict[str, Any]] = []
        self.requests: list[str] = []
        self.delay_s = delay_s
        self.down = False
        self.metadata_issuer = issuer

    @property
    def key(self) -> SigningKey:
        return self.keys[-1]

    def rotate(self, key: SigningKey | None = None) -> SigningKey:
        """Publishes a new signing key (the old one stays published)."""
        self.keys.append(key or ECKey.generate_key("P-256", private=True, auto_kid=True))
        return self.key

    def jwks(self) -> dict[str, Any]:
        return {"keys": [dict(k.as_dict(private=False)) for k in self.keys] + self.extra_jwks}

    def jwks_fetches(self) -> int:
        return sum(url.endswith("/jwks") for url in self.requests)

    async def handle(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(str(request.url))
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.down:
            return httpx2.Response(503)
        if request.url.path == "/.well-known/openid-configuration":
            return httpx2.Response(
                200, json={"issuer": self.metadata_issuer, "jwks_uri": f"{self.issuer}/jwks"}
            )
        if request.url.path == "/jwks":
            return httpx2.Response(200, json=self.jwks())
        return httpx2.Response(404)

    def http(self) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(transport=httpx2.MockTransport(self.handle))


def validator_for(
    fake: FakeIssuer,
    *,
    discover: bool = False,
    refetch_interval_s: float = 10.0,
    first_fetch_retry_s: float = 1.0,
    monotonic: Any = time.monotonic,
    leeway_s: int = 30,
    algorithms: frozenset[str] = frozenset({"ES256", "RS256"}),
    clock: Any = time.time,
) -> TokenValidator:
    keys = IssuerKeys(
        fake.issuer,
        None if discover else f"{fake.issuer}/jwks",
        fake.http(),
        KeyPolicy(
            cache_ttl_s=300,
            refetch_interval_s=refetch_interval_s,
            first_fetch_retry_s=first_fetch_retry_s,
        ),
        monotonic,
    )
    return TokenValidator([TrustedIssuer(keys, algorithms)], AUDIENCE, leeway_s, clock)


def code_and_reason(error: grpc.aio.AioRpcError) -> tuple[grpc.StatusCode, str]:
    from tests.support import error_info, rich_status

    return error.code(), error_info(rich_status(error)).reason
