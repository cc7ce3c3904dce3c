"""A gateway of its own for the authentication tests: `auth.required`, with the embedded token
issuer, on loopback beside the session's sandbox partners."""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import httpx2
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey

from gateway.runtime import RunningGateway, running_gateway
from gateway.settings import (
    AuthSettings,
    GatewaySettings,
    IssuerClientSettings,
    TokenIssuerSettings,
)
from tests.conftest import TEST_LATENCY_MS
from tests.support import SandboxControl

#: Registered with a key only (private_key_jwt), no secret.
KEY_CLIENT = "insurer-a"
#: A client of the issuer that is no partner of the gateway.
STRANGER = "stranger"


def secret_of(client_id: str) -> str:
    return f"test-secret-{client_id}"


@pytest.fixture(scope="session")
def client_key() -> ECKey:
    """The private key `insurer-a` signs its client assertions with."""
    return ECKey.generate_key("P-256", private=True, auto_kid=True)


@pytest.fixture(scope="session")
def auth_settings(
    gateway_settings: GatewaySettings, client_key: ECKey, tmp_path_factory: pytest.TempPathFactory
) -> GatewaySettings:
    clients = [
        IssuerClientSettings(client_id=p.id, client_secret=secret_of(p.id))
        for p in gateway_settings.partners
        if p.id != KEY_CLIENT
    ]
    clients += [
        IssuerClientSettings(
            client_id=KEY_CLIENT, jwks={"keys": [dict(client_key.as_dict(private=False))]}
        ),
        IssuerClientSettings(client_id=STRANGER, client_secret=secret_of(STRANGER)),
    ]
    auth = AuthSettings(
        required=True,
        issuer=TokenIssuerSettings(
            enabled=True,
            address="127.0.0.1:0",
            clients=clients,
            signing_key_file=Path(tmp_path_factory.mktemp("issuer")) / "signing-key.json",
        ),
    )
    state = Path(tmp_path_factory.mktemp("auth-state"))
    return gateway_settings.model_copy(update={"auth": auth, "state_dir": state})


@pytest.fixture(scope="session")
async def auth_gateway(auth_settings: GatewaySettings) -> AsyncIterator[RunningGateway]:
    async with running_gateway(auth_settings, "127.0.0.1:0") as running:
        assert running.issuer_url is not None
        yield running


@pytest.fixture(scope="session")
async def auth_channel(auth_gateway: RunningGateway) -> AsyncIterator[grpc.aio.Channel]:
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
