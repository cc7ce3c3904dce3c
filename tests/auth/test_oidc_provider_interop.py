"""Interoperability with an independent authorization server: `oidc-provider` (npm, installed
by `make install` from package.json; nothing is installed here) issues RFC 9068 JWT access
tokens by client credentials, and the gateway — trusting it through OpenID discovery — accepts
them, and refuses them when the audience or the issuer is wrong.

Skipped only where `node` is missing and `CI` is not set; in CI a missing node fails.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import grpc
import httpx2
import pytest

from gateway.auth import ALL_SCOPES
from gateway.client.journeys import TripPlan, compose_request
from gateway.runtime import running_gateway
from gateway.settings import (
    AuthSettings,
    GatewaySettings,
    TokenIssuerSettings,
    TrustedIssuerSettings,
)
from partnergateway.v1 import solution_service_pb2_grpc
from tests.auth.support import AUDIENCE, bearer, code_and_reason

ROOT = Path(__file__).resolve().parents[2]
SERVER_SCRIPT = Path(__file__).with_name("oidc_provider_server.mjs")
OTHER_AUDIENCE = "urn:some-other-api"
CLIENT_ID, CLIENT_SECRET = "telecom-cn", "interop-secret-telecom-cn"
TODAY = datetime.now(UTC).date()


def node() -> str:
    found = shutil.which("node")
    if found is None:
        if "CI" in os.environ:
            pytest.fail("CI needs Node.js for the oidc-provider interoperability test")
        pytest.skip("no `node` here: the oidc-provider interoperability test needs Node.js")
    if not (ROOT / "node_modules" / "oidc-provider" / "package.json").is_file():
        pytest.fail("oidc-provider is not installed: run `npm install` (or `make install`)")
    return found


@asynccontextmanager
async def oidc_provider(executable: str) -> AsyncIterator[str]:
    """An oidc-provider on a free loopback port; yields its issuer identifier."""
    config = {
        "audience": AUDIENCE,
        "other_audiences": [OTHER_AUDIENCE],
        "scopes": list(ALL_SCOPES),
        "clients": [{"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}],
    }
    process = await asyncio.create_subprocess_exec(
        executable,
        str(SERVER_SCRIPT),
        json.dumps(config),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        assert process.stderr is not None
        async with asyncio.timeout(30):
            line = await process.stdout.readline()
        if not line:
            errors = (await process.stderr.read()).decode()
            raise AssertionError(f"oidc-provider did not start: {errors}")
        yield str(json.loads(line)["issuer"])
    finally:
        if process.returncode is None:
            process.terminate()
        async with asyncio.timeout(10):
            await process.communicate()


async def access_token(http: httpx2.AsyncClient, issuer: str, resource: str) -> str:
    """A token from the provider by client_secret_basic, its endpoint found by discovery."""
    metadata = (await http.get(f"{issuer}/.well-known/openid-configuration")).json()
    response = await http.post(
        metadata["token_endpoint"],
        data={
            "grant_type": "client_credentials",
            "scope": "solutions:compose",
            "resource": resource,
        },
        auth=(CLIENT_ID, CLIENT_SECRET),
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


@pytest.mark.slow
async def test_the_gateway_accepts_oidc_provider_tokens_and_refuses_wrong_ones(
    gateway_settings: GatewaySettings, tmp_path: Path, http: httpx2.AsyncClient
) -> None:
    executable = node()
    async with oidc_provider(executable) as trusted, oidc_provider(executable) as untrusted:
        auth = AuthSettings(
            required=True,
            # No jwks_uri: the keys are found through the provider's OpenID discovery.
            trusted_issuers=[TrustedIssuerSettings(issuer=trusted)],
            # Only the external provider: no embedded issuer beside it.
            issuer=TokenIssuerSettings(enabled=False),
        )
        settings = gateway_settings.model_copy(update={"auth": auth, "state_dir": tmp_path})
        async with (
            running_gateway(settings, "127.0.0.1:0") as gateway,
            grpc.aio.insecure_channel(gateway.target) as channel,
        ):
            stub = solution_service_pb2_grpc.SolutionServiceStub(channel)
            request = compose_request("roaming", TripPlan.sample(TODAY))

            good = await access_token(http, trusted, AUDIENCE)
            response = await stub.ComposeSolution(request, timeout=10, metadata=bearer(good))
            assert response.solution.entry.partner_id == CLIENT_ID
            assert len(response.solution.components) == 4

            for token, reason in [
                (await access_token(http, trusted, OTHER_AUDIENCE), "AUDIENCE_MISMATCH"),
                (await access_token(http, untrusted, AUDIENCE), "ISSUER_UNTRUSTED"),
            ]:
                with pytest.raises(grpc.aio.AioRpcError) as caught:
                    await stub.ComposeSolution(request, timeout=10, metadata=bearer(token))
                assert code_and_reason(caught.value) == (grpc.StatusCode.UNAUTHENTICATED, reason)
