"""OAuth client credentials and access-token checks, over real HTTP."""

from __future__ import annotations

import time

import httpx2
from joserfc import jwt
from joserfc.jwk import KeySet

from sandbox import GATEWAY_CLIENT_ID, SandboxCluster
from tests.sandbox.support import REQUESTS, access_token, secret


async def test_token_with_client_secret_basic(
    cluster: SandboxCluster, client: httpx2.AsyncClient
) -> None:
    partner = cluster["airline-a"]
    response = await client.post(
        partner.token_url,
        data={"grant_type": "client_credentials"},
        auth=(GATEWAY_CLIENT_ID, secret(partner)),
    )
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 300
    assert body["scope"] == "quotes bookings"

    jwks = (await client.get(f"{partner.base_url}/.well-known/jwks.json")).json()
    token = jwt.decode(body["access_token"], KeySet.import_key_set(jwks), algorithms=["ES256"])
    assert token.header["typ"] == "at+jwt"
    assert token.header["kid"] == partner.state.tokens.kid
    claims = token.claims
    assert claims["aud"] == "urn:partner:airline-a" == partner.audience
    assert claims["iss"] == partner.base_url
    assert claims["sub"] == claims["client_id"] == GATEWAY_CLIENT_ID
    assert claims["exp"] - claims["iat"] == 300
    assert claims["jti"]


async def test_token_with_client_secret_post_and_scope(
    cluster: SandboxCluster, client: httpx2.AsyncClient
) -> None:
    partner = cluster["insurer-a"]
    response = await client.post(
        partner.token_url,
        data={
            "grant_type": "client_credentials",
            "client_id": GATEWAY_CLIENT_ID,
            "client_secret": secret(partner),
            "scope": "quotes",
        },
    )
    assert response.status_code == 200
    assert response.json()["scope"] == "quotes"


async def test_token_refused(cluster: SandboxCluster, client: httpx2.AsyncClient) -> None:
    partner = cluster["car-a"]
    wrong = await client.post(
        partner.token_url,
        data={"grant_type": "client_credentials"},
        auth=(GATEWAY_CLIENT_ID, "not-the-secret"),
    )
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"
    assert wrong.headers["www-authenticate"].startswith("Basic")

    other_partners_secret = await client.post(
        partner.token_url,
        data={"grant_type": "client_credentials"},
        auth=(GATEWAY_CLIENT_ID, secret(cluster["car-b"])),
    )
    assert other_partners_secret.status_code == 401

    grant = await client.post(
        partner.token_url,
        data={"grant_type": "password"},
        auth=(GATEWAY_CLIENT_ID, secret(partner)),
    )
    assert grant.status_code == 400
    assert grant.json()["error"] == "unsupported_grant_type"

    scope = await client.post(
        partner.token_url,
        data={"grant_type": "client_credentials", "scope": "admin"},
        auth=(GATEWAY_CLIENT_ID, secret(partner)),
    )
    assert scope.status_code == 400
    assert scope.json()["error"] == "invalid_scope"

    anonymous = await client.post(partner.token_url, data={"grant_type": "client_credentials"})
    assert anonymous.status_code == 401

    statuses = [entry.status for entry in partner.state.ledger.of("token")]
    assert statuses == [401, 401, 400, 400, 401]
    assert "not-the-secret" not in str(
        (await client.get(f"{partner.base_url}/_sandbox/ledger")).json()
    )


async def _quote_with(client: httpx2.AsyncClient, url: str, token: str | None) -> httpx2.Response:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    return await client.post(f"{url}/v1/quotes", json=REQUESTS["airline"], headers=headers)


def _assert_invalid_token(response: httpx2.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "invalid_token"
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'


async def test_quote_requires_a_valid_token(
    cluster: SandboxCluster, client: httpx2.AsyncClient
) -> None:
    partner = cluster["airline-a"]
    tokens = partner.state.tokens
    url = partner.base_url

    _assert_invalid_token(await _quote_with(client, url, None))
    _assert_invalid_token(await _quote_with(client, url, "not.a.jwt"))

    expired = tokens.mint(GATEWAY_CLIENT_ID, ttl_s=300, now=time.time() - 3600)
    _assert_invalid_token(await _quote_with(client, url, expired))

    # Signed with the partner's own key, but for another partner's audience.
    wrong_audience = tokens.mint(GATEWAY_CLIENT_ID, ttl_s=300, audience="urn:partner:airline-b")
    _assert_invalid_token(await _quote_with(client, url, wrong_audience))

    wrong_issuer = tokens.mint(GATEWAY_CLIENT_ID, ttl_s=300, issuer="http://attacker.example")
    _assert_invalid_token(await _quote_with(client, url, wrong_issuer))

    unknown_client = tokens.mint("someone-else", ttl_s=300)
    _assert_invalid_token(await _quote_with(client, url, unknown_client))

    # A perfectly good token — from another partner.
    from_airline_b = await access_token(client, cluster["airline-b"])
    _assert_invalid_token(await _quote_with(client, url, from_airline_b))

    good = await access_token(client, partner)
    assert (await _quote_with(client, url, good)).status_code == 200


async def test_token_checks_type_and_algorithm(
    cluster: SandboxCluster, client: httpx2.AsyncClient
) -> None:
    partner = cluster["telecom-cn"]
    state = partner.state
    now = int(time.time())
    claims = {
        "iss": state.issuer,
        "aud": state.audience,
        "sub": GATEWAY_CLIENT_ID,
        "client_id": GATEWAY_CLIENT_ID,
        "iat": now,
        "exp": now + 300,
    }
    plain_jwt = jwt.encode({"alg": "ES256", "kid": state.tokens.kid}, claims, state.tokens.key)
    _assert_invalid_token(await _quote_with(client, partner.base_url, plain_jwt))

    no_exp = {k: v for k, v in claims.items() if k != "exp"}
    header = {"alg": "ES256", "typ": "at+jwt", "kid": state.tokens.kid}
    never_expires = jwt.encode(header, no_exp, state.tokens.key)
    _assert_invalid_token(await _quote_with(client, partner.base_url, never_expires))

    unsigned = plain_jwt.rsplit(".", 1)[0] + "."
    _assert_invalid_token(await _quote_with(client, partner.base_url, unsigned))


async def test_health_needs_no_token(cluster: SandboxCluster, client: httpx2.AsyncClient) -> None:
    response = await client.get(f"{cluster['car-b'].base_url}/v1/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "partner_id": "car-b"}
