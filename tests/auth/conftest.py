"""The authentication tests use the session's gateway, which requires tokens as by default
(tests/conftest.py), through a plain channel of their own: they bring (or withhold) each
call's token themselves."""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import AsyncIterator

import grpc
import httpx2
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey

from gateway.runtime import RunningGateway
from tests.conftest import TEST_LATENCY_MS
from tests.support import SandboxControl, secret_of


@pytest.fixture(scope="session")
def auth_gateway(gateway: RunningGateway) -> RunningGateway:
    return gateway


@pytest.fixture(scope="session")
async def auth_channel(auth_gateway: RunningGateway) -> AsyncIterator[grpc.aio.Channel]:
    """No token is added: each test says what its calls carry."""
    async with grpc.aio.insecure_channel(auth_gateway.target) as channel:
        yield channel


@pytest.fixture(scope="session")
async def http() -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(timeout=10, trust_env=False) as client:
        yield client


@pytest.fixture
async def quiet_partners(control: SandboxControl) -> SandboxControl:
    """Every sandbox partner fast and healthy, its ledger empty."""
    for pid in control.base_urls:
        await control.set_knobs(
            pid, latency_ms=TEST_LATENCY_MS, latency_jitter_ms=0, error_rate=0.0, outage=False
        )
    await control.clear_ledgers()
    return control


def token_url(gateway: RunningGateway) -> str:
    return f"{gateway.issuer_url}/oauth/token"


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


async def token_for(
    http: httpx2.AsyncClient, gateway: RunningGateway, client_id: str, scope: str | None = None
) -> str:
    """An access token from the embedded issuer, by client_secret_basic."""
    form = {"grant_type": "client_credentials", **({"scope": scope} if scope else {})}
    response = await http.post(
        token_url(gateway),
        data=form,
        headers={"Authorization": basic(client_id, secret_of(client_id))},
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def client_assertion(key: ECKey, client_id: str, audience: str, **overrides: object) -> str:
    """A `private_key_jwt` client assertion (RFC 7523)."""
    now = int(time.time())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "iat": now,
        "exp": now + 60,
        "jti": secrets.token_urlsafe(12),
        **overrides,
    }
    return jwt.encode({"alg": "ES256", "kid": key.kid}, claims, key, algorithms=["ES256"])
