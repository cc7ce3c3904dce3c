"""A trusted issuer's public keys (its JWKS), fetched over HTTP and cached.

Keys come only from the issuer's configured `jwks_uri`, or from the `jwks_uri` of its
discovery document (`/.well-known/openid-configuration`, whose `issuer` must match) — never
from a token's own `jwk`, `jku`, `x5u` or `x5c` header. The set is re-fetched when it is older
than the cache lifetime, and when a token names an unknown key id — at most once per
`refetch_interval_s`, and one fetch at a time: concurrent requests that miss the same key wait
for the fetch already running instead of starting their own.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx2
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey

from gateway.errors import AuthenticationError, IssuerKeysUnavailableError

__all__ = ["IssuerKeys", "KeyPolicy", "PublicKey", "public_key"]

log = logging.getLogger(__name__)

_MIN_RSA_BITS = 2048
# A key set is a few kilobytes; anything this large is not one.
_MAX_DOCUMENT_BYTES = 256 * 1024


@dataclass(frozen=True)
class KeyPolicy:
    cache_ttl_s: float = 300.0
    refetch_interval_s: float = 10.0
    first_fetch_retry_s: float = 1.0

    def __post_init__(self) -> None:
        if min(self.cache_ttl_s, self.refetch_interval_s, self.first_fetch_retry_s) < 0:
            raise ValueError("key policy intervals must not be negative")


@dataclass(frozen=True)
class PublicKey:
    kid: str | None
    alg: str | None
    key: ECKey | RSAKey

    def fits(self, alg: str) -> bool:
        """Whether this key may verify a signature made with `alg` (ES256 or RS256)."""
        if self.alg is not None and self.alg != alg:
            return False
        if alg == "ES256":
            return isinstance(self.key, ECKey)
        return alg == "RS256" and isinstance(self.key, RSAKey)


def public_key(jwk: object) -> PublicKey | None:
    """The public part of one signing JWK (EC P-256, or RSA of 2048 bits or more), else None.

    Private members are dropped: a key set that leaks them must not turn into signing keys.
    """
    if not isinstance(jwk, dict) or jwk.get("use") not in (None, "sig"):
        return None
    kid = jwk.get("kid")
    alg = jwk.get("alg")
    if not isinstance(kid, str | None) or not isinstance(alg, str | None):
        return None
    key: ECKey | RSAKey
    try:
        if jwk.get("kty") == "EC" and jwk.get("crv") == "P-256":
            key = ECKey.import_key({k: jwk[k] for k in ("kty", "crv", "x", "y") if k in jwk})
        elif jwk.get("kty") == "RSA":
            key = RSAKey.import_key({k: jwk[k] for k in ("kty", "n", "e") if k in jwk})
            if key.raw_value.key_size < _MIN_RSA_BITS:
                return None
        else:
            return None
    except (JoseError, ValueError, TypeError, KeyError):
        return None
    return PublicKey(kid, alg, key)


class IssuerKeys:
    """The cached key set of one trusted issuer."""

    def __init__(
        self,
        issuer: str,
        jwks_uri: str | None,
        http: httpx2.AsyncClient,
        policy: KeyPolicy,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.issuer = issuer
        self._jwks_uri = jwks_uri
        self._http = http
        self._policy = policy
        self._clock = clock
        self._keys: list[PublicKey] | None = None
        self._fetched_at = 0.0
        self._attempted_at: float | None = None
        self._generation = 0
        self._lock = asyncio.Lock()
        #: How many times the key set was fetched (tests and metrics).
        self.fetches = 0

    async def key(self, kid: str | None, alg: str) -> ECKey | RSAKey:
        """The issuer's key for a token signed with `alg` under key id `kid`."""
        seen = self._generation
        if self._keys is None or self._clock() - self._fetched_at >= self._policy.cache_ttl_s:
            await self._refresh(seen)
            seen = self._generation
        found = self._find(kid, alg)
        if found is None:
            # Perhaps the issuer rotated its keys since the last fetch.
            await self._refresh(seen)
            found = self._find(kid, alg)
        if found is None:
            raise AuthenticationError("the token's signing key is not one of its issuer's keys")
        return found

    def _find(self, kid: str | None, alg: str) -> ECKey | RSAKey | None:
        candidates = [k for k in self._keys or () if k.fits(alg)]
        if kid is not None:
            candidates = [k for k in candidates if k.kid == kid]
        # Without a key id only an unambiguous key will do.
        return candidates[0].key if len(candidates) == 1 else None

    async def _refresh(self, seen_generation: int) -> None:
        async with self._lock:
            if self._generation != seen_generation:
                return  # fetched by another request while this one waited
            now = self._clock()
            wait = self._next_fetch_in(now)
            if wait > 0:
                if self._keys is None:
                    raise self._unavailable(wait)
                return
            self._attempted_at = now
            self.fetches += 1
            try:
                keys = await self._fetch()
            except (httpx2.HTTPError, ValueError) as exc:
                log.warning("cannot fetch the keys of issuer %s: %s", self.issuer, exc)
                if self._keys is None:
                    raise self._unavailable(self._next_fetch_in(now)) from None
                return  # keep the keys we have
            self._keys = keys
            self._fetched_at = now
            self._generation += 1

    def _next_fetch_in(self, now: float) -> float:
        """Seconds until a fetch may be tried again (0: now)."""
        if self._attempted_at is None:
            return 0.0
        interval = (
            self._policy.first_fetch_retry_s
            if self._keys is None
            else self._policy.refetch_interval_s
        )
        return max(0.0, self._attempted_at + interval - now)

    def _unavailable(self, wait_s: float) -> IssuerKeysUnavailableError:
        error = IssuerKeysUnavailableError(
            "the token issuer's keys are unavailable", {"issuer": self.issuer}
        )
        # The real wait, rounded up to what a client can act on (RetryInfo has milliseconds).
        error.retry_after_s = max(0.001, math.ceil(wait_s * 1000 - 1e-6) / 1000)
        return error

    async def _fetch(self) -> list[PublicKey]:
        uri = self._jwks_uri or await self._discover()
        document = await self._get_json(uri)
        entries = document.get("keys")
        if not isinstance(entries, list):
            raise ValueError(f"{uri} is not a JWK set")
        keys = [k for k in (public_key(entry) for entry in entries) if k is not None]
        if len(keys) < len(entries):
            log.info("issuer %s: ignored %d unusable keys", self.issuer, len(entries) - len(keys))
        return keys

    async def _discover(self) -> str:
        """The `jwks_uri` of the issuer's OpenID Connect discovery document."""
        url = f"{self.issuer.rstrip('/')}/.well-known/openid-configuration"
        metadata = await self._get_json(url)
        # OpenID Connect Discovery §4.3: the document must be the issuer's own.
        if metadata.get("issuer") != self.issuer:
            raise ValueError(f"{url} names another issuer")
        jwks_uri = metadata.get("jwks_uri")
        if not isinstance(jwks_uri, str) or not jwks_uri:
            raise ValueError(f"{url} has no jwks_uri")
        self._jwks_uri = jwks_uri
        return jwks_uri

    async def _get_json(self, url: str) -> dict[str, Any]:
        body = bytearray()
        async with self._http.stream("GET", url, headers={"Accept": "application/json"}) as r:
            r.raise_for_status()
            async for chunk in r.aiter_bytes():
                body += chunk
                if len(body) > _MAX_DOCUMENT_BYTES:
                    raise ValueError(f"{url} answered more than {_MAX_DOCUMENT_BYTES} bytes")
        document = json.loads(body)
        if not isinstance(document, dict):
            raise ValueError(f"{url} did not answer a JSON object")
        return document
