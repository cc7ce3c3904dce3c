"""Customer-session tokens for the tests, obtained as a partner's backend would: its own
token by client credentials, then an RFC 8693 token exchange at the gateway's issuer."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx2

from tests.support import secret_of

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token"


def basic(client_id: str) -> dict[str, str]:
    raw = f"{client_id}:{secret_of(client_id)}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


async def partner_token(
    http: httpx2.AsyncClient, issuer_url: str, partner: str, scope: str | None = None
) -> str:
    form = {"grant_type": "client_credentials", **({"scope": scope} if scope else {})}
    response = await http.post(f"{issuer_url}/oauth/token", data=form, headers=basic(partner))
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


async def exchange(
    http: httpx2.AsyncClient,
    issuer_url: str,
    partner: str,
    subject_token: str,
    **extra: str,
) -> httpx2.Response:
    """The raw token-exchange response (RFC 8693 §2.1), the partner authenticating itself."""
    form = {
        "grant_type": TOKEN_EXCHANGE,
        "subject_token": subject_token,
        "subject_token_type": ACCESS_TOKEN,
        **extra,
    }
    return await http.post(f"{issuer_url}/oauth/token", data=form, headers=basic(partner))


async def session_token(
    http: httpx2.AsyncClient, issuer_url: str, partner: str = "telecom-cn", **extra: str
) -> str:
    """A customer-session token for a new session of `partner`."""
    response = await exchange(
        http, issuer_url, partner, await partner_token(http, issuer_url, partner), **extra
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def claims_of(token: str) -> dict[str, Any]:
    """A JWT's claims, unverified: what the test itself was just given."""
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return claims
