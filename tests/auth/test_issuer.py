"""The embedded token issuer over real HTTP: metadata, JWKS, client authentication
(client_secret_basic, private_key_jwt) and the access tokens it mints."""

from __future__ import annotations

import base64
import json
import stat
import time
from pathlib import Path
from typing import Any

import httpx2
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet

from gateway.auth import ALL_SCOPES, load_signing_key
from gateway.runtime import RunningGateway
from tests.auth.conftest import basic, client_assertion, token_url
from tests.support import KEY_CLIENT, secret_of

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def part(token: str, index: int) -> dict[str, Any]:
    segment = token.split(".")[index]
    padded = segment + "=" * (-len(segment) % 4)
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(padded))
    return decoded


async def test_metadata_and_keys_are_published(
    auth_gateway: RunningGateway, http: httpx2.AsyncClient
) -> None:
    issuer = auth_gateway.issuer_url
    metadata = (await http.get(f"{issuer}/.well-known/openid-configuration")).json()
    assert metadata["issuer"] == issuer
    assert metadata["token_endpoint"] == f"{issuer}/oauth/token"
    assert set(metadata["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic",
        "private_key_jwt",
    }
    assert (await http.get(f"{issuer}/.well-known/oauth-authorization-server")).json() == metadata
    jwks = (await http.get(metadata["jwks_uri"])).json()
    assert [k["kty"] for k in jwks["keys"]] == ["EC"]
    assert "d" not in jwks["keys"][0]


async def test_an_access_token_has_the_rfc_9068_shape(
    auth_gateway: RunningGateway, http: httpx2.AsyncClient
) -> None:
    response = await http.post(
        token_url(auth_gateway),
        data={"grant_type": "client_credentials"},
        headers={"Authorization": basic("telecom-cn", secret_of("telecom-cn"))},
    )
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["scope"].split() == list(ALL_SCOPES)
    token = body["access_token"]
    header, claims = part(token, 0), part(token, 1)
    assert header["typ"] == "at+jwt"
    assert header["alg"] == "ES256"
    assert claims["iss"] == auth_gateway.issuer_url
    assert claims["aud"] == "urn:partner-gateway"
    assert claims["sub"] == claims["client_id"] == "telecom-cn"
    assert claims["exp"] - claims["iat"] == body["expires_in"] == 300
    assert claims["jti"]
    jwks = (await http.get(f"{auth_gateway.issuer_url}/jwks.json")).json()
    jwt.decode(token, KeySet.import_key_set(jwks), algorithms=["ES256"])


async def post_token(
    http: httpx2.AsyncClient,
    gateway: RunningGateway,
    form: dict[str, str],
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any]]:
    response = await http.post(token_url(gateway), data=form, headers=headers or {})
    return response.status_code, response.json()


@pytest.mark.parametrize(
    ("form", "authorization", "status", "error"),
    [
        ({"grant_type": "client_credentials"}, ("telecom-cn", "wrong"), 401, "invalid_client"),
        ({"grant_type": "client_credentials"}, ("nobody", "x"), 401, "invalid_client"),
        ({"grant_type": "client_credentials"}, None, 401, "invalid_client"),
        (
            {
                "grant_type": "client_credentials",
                "client_id": "telecom-cn",
                "client_secret": secret_of("telecom-cn"),
            },
            None,
            401,
            "invalid_client",
        ),
        ({}, ("telecom-cn", None), 400, "invalid_request"),
        ({"grant_type": "password"}, ("telecom-cn", None), 400, "unsupported_grant_type"),
        (
            {"grant_type": "client_credentials", "scope": "admin"},
            ("telecom-cn", None),
            400,
            "invalid_scope",
        ),
        (
            {"grant_type": "client_credentials", "resource": "urn:other-api"},
            ("telecom-cn", None),
            400,
            "invalid_target",
        ),
    ],
)
async def test_bad_token_requests_get_oauth_errors(
    auth_gateway: RunningGateway,
    http: httpx2.AsyncClient,
    form: dict[str, str],
    authorization: tuple[str, str | None] | None,
    status: int,
    error: str,
) -> None:
    headers = {}
    if authorization is not None:
        client_id, secret = authorization
        headers["Authorization"] = basic(client_id, secret or secret_of(client_id))
    got_status, body = await post_token(http, auth_gateway, form, headers)
    assert (got_status, body["error"]) == (status, error)


async def test_a_narrower_scope_and_the_gateway_resource_may_be_asked_for(
    auth_gateway: RunningGateway, http: httpx2.AsyncClient
) -> None:
    status, body = await post_token(
        http,
        auth_gateway,
        {
            "grant_type": "client_credentials",
            "scope": "orders:read solutions:read",
            "resource": "urn:partner-gateway",
        },
        {"Authorization": basic("car-b", secret_of("car-b"))},
    )
    assert status == 200
    assert body["scope"] == "solutions:read orders:read"


def assertion_form(assertion: str) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion,
    }


async def test_a_client_assertion_is_single_use(
    auth_gateway: RunningGateway, http: httpx2.AsyncClient, client_key: ECKey
) -> None:
    assertion = client_assertion(client_key, KEY_CLIENT, token_url(auth_gateway))
    first, _ = await post_token(http, auth_gateway, assertion_form(assertion))
    again, body = await post_token(http, auth_gateway, assertion_form(assertion))
    assert (first, again, body["error"]) == (200, 401, "invalid_client")


async def test_the_issuer_identifier_is_accepted_as_assertion_audience(
    auth_gateway: RunningGateway, http: httpx2.AsyncClient, client_key: ECKey
) -> None:
    assert auth_gateway.issuer_url is not None
    assertion = client_assertion(client_key, KEY_CLIENT, auth_gateway.issuer_url)
    assert (await post_token(http, auth_gateway, assertion_form(assertion)))[0] == 200


@pytest.mark.parametrize(
    "overrides",
    [
        {"aud": "https://elsewhere.test/token"},
        {"iss": "car-a"},
        {"sub": "car-a"},
        {"exp": int(time.time()) - 120},
        {"exp": int(time.time()) + 3600},
        {"jti": None},
    ],
    ids=["wrong aud", "iss not the client", "sub not the client", "expired", "too long", "no jti"],
)
async def test_a_bad_client_assertion_is_refused(
    auth_gateway: RunningGateway,
    http: httpx2.AsyncClient,
    client_key: ECKey,
    overrides: dict[str, object],
) -> None:
    assertion = client_assertion(client_key, KEY_CLIENT, token_url(auth_gateway), **overrides)
    form = {**assertion_form(assertion), "client_id": KEY_CLIENT}
    status, body = await post_token(http, auth_gateway, form)
    assert (status, body["error"]) == (401, "invalid_client")


async def test_an_assertion_signed_by_another_key_is_refused(
    auth_gateway: RunningGateway, http: httpx2.AsyncClient
) -> None:
    impostor = ECKey.generate_key("P-256", private=True, auto_kid=True)
    assertion = client_assertion(impostor, KEY_CLIENT, token_url(auth_gateway))
    status, body = await post_token(http, auth_gateway, assertion_form(assertion))
    assert (status, body["error"]) == (401, "invalid_client")


async def test_a_secret_client_cannot_use_an_assertion_nor_both_methods_at_once(
    auth_gateway: RunningGateway, http: httpx2.AsyncClient, client_key: ECKey
) -> None:
    assertion = client_assertion(client_key, "telecom-cn", token_url(auth_gateway))
    status, _ = await post_token(http, auth_gateway, assertion_form(assertion))
    assert status == 401
    both = client_assertion(client_key, KEY_CLIENT, token_url(auth_gateway))
    status, body = await post_token(
        http,
        auth_gateway,
        assertion_form(both),
        {"Authorization": basic("telecom-cn", secret_of("telecom-cn"))},
    )
    assert (status, body["error"]) == (400, "invalid_request")


def test_the_signing_key_file_is_created_once_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "issuer.json"
    first = load_signing_key(path)
    again = load_signing_key(path)
    assert first.kid == again.kid
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_signing_key(None).kid != first.kid
