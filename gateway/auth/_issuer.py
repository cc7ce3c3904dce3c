"""The embedded token issuer: OAuth 2.0 client credentials for the gateway's own partners.

Clients authenticate with `client_secret_basic` (RFC 6749 §2.3.1) or `private_key_jwt` (a
client assertion, RFC 7523 §2.2 and §3, signed with a key registered for the client: `iss` =
`sub` = the client id, `aud` = the token endpoint (or the issuer identifier), `exp` at most
five minutes ahead, `jti` used once). Access tokens are RFC 9068 JWTs: ES256, header `typ`
`at+jwt`, claims `iss`, `aud` (the gateway), `sub` = `client_id`, `scope`, `iat`, `exp`, `jti`.
The HTTP side is `gateway.auth._issuer_app`.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import os
import secrets
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from joserfc import jwt
from joserfc.errors import ExpiredTokenError, JoseError
from joserfc.jwk import ECKey

from gateway.auth._compact import unverified_parts
from gateway.auth._jwks import PublicKey, public_key
from gateway.auth._validator import SUPPORTED_ALGORITHMS

__all__ = [
    "CLIENT_ASSERTION_TYPE",
    "TOKEN_EXCHANGE_GRANT",
    "IssuerClient",
    "OAuthError",
    "TokenIssuer",
    "load_signing_key",
]

log = logging.getLogger(__name__)

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
SIGNING_ALGORITHM = "ES256"
# A client assertion lives at most this long, which bounds the memory of used `jti`s.
MAX_ASSERTION_LIFETIME_S = 300


class OAuthError(Exception):
    """An OAuth error response: `{"error": ..., "error_description": ...}` (RFC 6749 §5.2)."""

    def __init__(
        self, status: int, error: str, description: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description
        self.headers = headers or {}


def _invalid_client(description: str, *, basic: bool = False) -> OAuthError:
    headers = {"WWW-Authenticate": 'Basic realm="partner-gateway"'} if basic else {}
    return OAuthError(401, "invalid_client", description, headers)


@dataclass(frozen=True)
class IssuerClient:
    client_id: str
    secret: str | None
    keys: tuple[PublicKey, ...]
    scopes: tuple[str, ...]

    @classmethod
    def build(
        cls,
        client_id: str,
        secret: str | None,
        jwks: dict[str, Any] | None,
        scopes: Sequence[str],
    ) -> IssuerClient:
        entries = (jwks or {}).get("keys", [])
        keys = tuple(k for k in (public_key(e) for e in entries) if k is not None)
        if jwks is not None and not keys:
            raise ValueError(f"client {client_id}: no usable EC P-256 or RSA public key in jwks")
        if secret is None and not keys:
            raise ValueError(f"client {client_id}: needs a client_secret or jwks")
        return cls(client_id, secret, keys, tuple(scopes))


def load_signing_key(path: Path | None) -> ECKey:
    """The issuer's P-256 key: from `path` (created there when missing, readable by this user
    only), or a new one each start when `path` is None."""
    if path is None:
        return ECKey.generate_key("P-256", private=True, auto_kid=True)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fresh = ECKey.generate_key("P-256", private=True, auto_kid=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".signing-key-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                json.dump(dict(fresh.as_dict(private=True)), file)
            # A link never replaces a file: of workers racing to create it, the first wins
            # and the others read its key.
            with contextlib.suppress(FileExistsError):
                os.link(temporary, path)
        finally:
            os.unlink(temporary)
    data = json.loads(path.read_text(encoding="utf-8"))
    key = ECKey.import_key(data)
    if not key.is_private or key.curve_name != "P-256":
        raise ValueError(f"{path}: not a private EC P-256 JWK")
    if key.kid is None:
        key = ECKey.import_key({**data, "kid": key.thumbprint()})
    return key


class TokenIssuer:
    """Authenticates clients and mints their access tokens."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        key: ECKey,
        clients: Iterable[IssuerClient],
        ttl_s: int,
        leeway_s: int = 30,
        clock: Callable[[], float] = time.time,
        session_ttl_s: int = 600,
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.audience = audience
        self.token_endpoint = f"{self.issuer}/oauth/token"
        self.jwks_uri = f"{self.issuer}/jwks.json"
        self._key = key
        kid = key.kid
        assert kid is not None
        self._kid: str = kid
        self._clients = {c.client_id: c for c in clients}
        self._ttl_s = ttl_s
        self.session_ttl_s = session_ttl_s
        self._leeway_s = leeway_s
        self._clock = clock
        self._used_jtis: dict[tuple[str, str], float] = {}

    def jwks(self) -> dict[str, Any]:
        public = self._key.as_dict(private=False, use="sig", alg=SIGNING_ALGORITHM)
        return {"keys": [dict(public)]}

    def metadata(self) -> dict[str, Any]:
        """Authorization server metadata (RFC 8414; also served as OpenID discovery)."""
        scopes = sorted({s for c in self._clients.values() for s in c.scopes})
        return {
            "issuer": self.issuer,
            "token_endpoint": self.token_endpoint,
            "jwks_uri": self.jwks_uri,
            "grant_types_supported": ["client_credentials", TOKEN_EXCHANGE_GRANT],
            "response_types_supported": [],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": sorted(SUPPORTED_ALGORITHMS),
            "scopes_supported": scopes,
        }

    # -- client authentication --------------------------------------------------------------

    def client_by_secret(self, client_id: str, secret: str) -> IssuerClient:
        client = self._clients.get(client_id)
        # Compared even for an unknown client, so timing tells nothing about which exist.
        expected = client.secret if client is not None and client.secret else secrets.token_hex()
        if not hmac.compare_digest(expected.encode(), secret.encode()) or client is None:
            raise _invalid_client("unknown client or wrong secret", basic=True)
        return client

    def client_by_assertion(self, assertion: str, client_id: str | None) -> IssuerClient:
        """The client whose registered key signed `assertion` (RFC 7523 §3)."""
        _, unverified = _unverified(assertion)
        claimed = client_id or unverified.get("iss")
        client = self._clients.get(claimed) if isinstance(claimed, str) else None
        if client is None or not client.keys:
            raise _invalid_client("unknown client, or none registered for private_key_jwt")
        claims = self._verified_assertion(assertion, client)
        now = self._clock()
        if claims.get("iss") != client.client_id or claims.get("sub") != client.client_id:
            raise _invalid_client("the assertion's iss and sub must both be the client id")
        aud = claims.get("aud")
        audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
        if not {self.token_endpoint, self.issuer} & set(audiences):
            raise _invalid_client("the assertion's aud must be the token endpoint")
        exp = claims["exp"]
        if exp - now > MAX_ASSERTION_LIFETIME_S + self._leeway_s:
            raise _invalid_client(f"the assertion may live at most {MAX_ASSERTION_LIFETIME_S} s")
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti:
            raise _invalid_client("the assertion needs a jti")
        self._use_once(client.client_id, jti, exp, now)
        return client

    def _verified_assertion(self, assertion: str, client: IssuerClient) -> dict[str, Any]:
        header, _ = _unverified(assertion)
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in SUPPORTED_ALGORITHMS:
            raise _invalid_client(f"assertions signed with {alg!r} are not accepted")
        assert isinstance(alg, str)
        keys = [k for k in client.keys if k.fits(alg) and (kid is None or k.kid == kid)]
        for candidate in keys:
            try:
                claims = jwt.decode(assertion, candidate.key, algorithms=[alg]).claims
            except (JoseError, ValueError):
                continue
            registry = jwt.JWTClaimsRegistry(
                now=int(self._clock()), leeway=self._leeway_s, exp={"essential": True}
            )
            try:
                registry.validate(claims)
            except ExpiredTokenError:
                raise _invalid_client("the assertion has expired") from None
            except JoseError as exc:
                raise _invalid_client(f"the assertion's claims are invalid: {exc}") from None
            return claims
        raise _invalid_client("the assertion is not signed by a key of the client")

    def _use_once(self, client_id: str, jti: str, exp: float, now: float) -> None:
        for used, expires in list(self._used_jtis.items()):
            if expires + self._leeway_s < now:
                del self._used_jtis[used]
        if (client_id, jti) in self._used_jtis:
            raise _invalid_client("the assertion was used before (jti)")
        self._used_jtis[(client_id, jti)] = exp

    # -- tokens -----------------------------------------------------------------------------

    def issue(
        self, client: IssuerClient, scope: str | None, resources: Sequence[str]
    ) -> dict[str, Any]:
        """The token response for `client` (RFC 6749 §5.1)."""
        requested = scope.split() if scope else list(client.scopes)
        refused = sorted(set(requested) - set(client.scopes))
        if refused:
            raise OAuthError(
                400, "invalid_scope", f"not granted to this client: {' '.join(refused)}"
            )
        # RFC 8707: the only resource this issuer serves is the gateway.
        if any(resource != self.audience for resource in resources):
            raise OAuthError(400, "invalid_target", f"the only resource is {self.audience}")
        granted = " ".join(s for s in client.scopes if s in requested)
        token = self.sign({"sub": client.client_id, "client_id": client.client_id}, granted)
        log.info("issued an access token to %s (scope %s)", client.client_id, granted)
        return {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": self._ttl_s,
            "scope": granted,
        }

    def sign(self, subject: dict[str, Any], scope: str, ttl_s: int | None = None) -> str:
        """An access token (RFC 9068) for `subject` (`sub`, `client_id`, maybe `act`)."""
        now = int(self._clock())
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            **subject,
            "scope": scope,
            "iat": now,
            "exp": now + (self._ttl_s if ttl_s is None else ttl_s),
            "jti": secrets.token_urlsafe(16),
        }
        header = {"alg": SIGNING_ALGORITHM, "typ": "at+jwt", "kid": self._kid}
        return jwt.encode(header, claims, self._key, algorithms=[SIGNING_ALGORITHM])

    def verify_own(self, token: str) -> dict[str, Any] | None:
        """The claims of an access token this issuer signed that is still valid for the
        gateway, else None: the subject token of a token exchange (RFC 8693 §2.1)."""
        parts = unverified_parts(token)
        if parts is None:
            return None
        header, _ = parts
        if header.get("typ") != "at+jwt" or header.get("alg") != SIGNING_ALGORITHM:
            return None
        try:
            claims = jwt.decode(token, self._key, algorithms=[SIGNING_ALGORITHM]).claims
            jwt.JWTClaimsRegistry(
                now=int(self._clock()),
                leeway=self._leeway_s,
                exp={"essential": True},
                iss={"essential": True, "value": self.issuer},
            ).validate(claims)
        except (JoseError, ValueError):
            return None
        aud = claims.get("aud")
        audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
        return claims if self.audience in audiences else None


def _unverified(assertion: str) -> tuple[dict[str, Any], dict[str, Any]]:
    parts = unverified_parts(assertion)
    if parts is None:
        raise _invalid_client("the client assertion is not a signed JWT")
    return parts
