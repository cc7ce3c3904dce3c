"""The access-token validator on its own: RFC 9068 checks, pinned algorithms, keys only from
the issuer's JWKS (fetched through a MockTransport that counts the fetches)."""

from __future__ import annotations

import asyncio
import time
import warnings

import pytest
from joserfc.errors import SecurityWarning
from joserfc.jwk import ECKey, RSAKey

from gateway.callers import Caller
from gateway.errors import (
    AudienceMismatchError,
    AuthenticationError,
    GatewayError,
    IssuerKeysUnavailableError,
    IssuerUntrustedError,
    TokenExpiredError,
)
from tests.auth.support import (
    AUDIENCE,
    FakeIssuer,
    b64_json,
    claims,
    hmac_with_public_key,
    sign,
    unsigned,
    validator_for,
)


class Monotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def refused(validator_call: object, reason: str) -> GatewayError:
    assert asyncio.iscoroutine(validator_call)
    with pytest.raises(GatewayError) as caught:
        await validator_call
    assert caught.value.reason == reason, caught.value.message
    return caught.value


async def test_a_valid_token_gives_its_caller() -> None:
    fake = FakeIssuer()
    caller = await validator_for(fake).validate(sign(fake.key, claims()))
    assert caller == Caller(
        partner_id="telecom-cn",
        scopes=frozenset({"solutions:compose", "orders:read"}),
        issuer=fake.issuer,
        token_id=caller.token_id,
    )
    assert caller.token_id


@pytest.mark.parametrize("typ", ["at+jwt", "AT+JWT", "application/at+jwt"])
async def test_the_access_token_types_are_accepted(typ: str) -> None:
    fake = FakeIssuer()
    await validator_for(fake).validate(sign(fake.key, claims(), typ=typ))


@pytest.mark.parametrize("typ", [None, "JWT", "id_token+jwt", "application/jwt"])
async def test_a_token_of_another_type_is_refused(typ: str | None) -> None:
    fake = FakeIssuer()
    error = await refused(
        validator_for(fake).validate(sign(fake.key, claims(), typ=typ)), "TOKEN_INVALID"
    )
    assert "at+jwt" in error.message


async def test_alg_none_is_refused_without_fetching_keys() -> None:
    fake = FakeIssuer()
    await refused(validator_for(fake).validate(unsigned(claims())), "TOKEN_INVALID")
    assert fake.requests == []


async def test_hs256_keyed_with_the_public_key_is_refused() -> None:
    fake = FakeIssuer()
    assert isinstance(fake.key, ECKey)
    forged = hmac_with_public_key(fake.key, claims())
    await refused(validator_for(fake).validate(forged), "TOKEN_INVALID")


async def test_an_algorithm_the_issuer_does_not_use_is_refused() -> None:
    fake = FakeIssuer()
    validator = validator_for(fake, algorithms=frozenset({"RS256"}))
    await refused(validator.validate(sign(fake.key, claims())), "TOKEN_INVALID")


async def test_an_expired_token_is_refused() -> None:
    fake = FakeIssuer()
    now = int(time.time())
    token = sign(fake.key, claims(iat=now - 600, exp=now - 60))
    await refused(validator_for(fake).validate(token), "TOKEN_EXPIRED")


async def test_expiry_within_the_leeway_is_tolerated() -> None:
    fake = FakeIssuer()
    now = int(time.time())
    token = sign(fake.key, claims(iat=now - 600, exp=now - 5))
    await validator_for(fake, leeway_s=30).validate(token)


async def test_a_remembered_token_is_refused_once_it_expires() -> None:
    fake = FakeIssuer()
    clock = Monotonic()
    clock.now = time.time()
    validator = validator_for(fake, leeway_s=30, clock=clock)
    token = sign(fake.key, claims(exp=int(clock.now) + 60))
    first = await validator.validate(token)
    assert await validator.validate(token) == first  # remembered: the same caller
    clock.now += 60 + 29
    assert await validator.validate(token) == first  # still within the leeway
    clock.now += 1
    await refused(validator.validate(token), "TOKEN_EXPIRED")
    await refused(validator.validate(token), "TOKEN_EXPIRED")  # and stays refused


async def test_a_remembered_signature_does_not_vouch_for_other_claims() -> None:
    fake = FakeIssuer()
    validator = validator_for(fake)
    token = sign(fake.key, claims())
    await validator.validate(token)
    header, _, signature = token.split(".")
    forged = ".".join([header, b64_json(claims(client_id="airline-a")), signature])
    await refused(validator.validate(forged), "TOKEN_INVALID")
    assert (await validator.validate(token)).partner_id == "telecom-cn"


async def test_a_refused_token_is_checked_again_not_remembered() -> None:
    fake = FakeIssuer()
    validator = validator_for(fake)
    token = sign(fake.key, claims(aud="someone-else"))
    for _ in range(2):
        with pytest.raises(AudienceMismatchError):
            await validator.validate(token)


async def test_a_token_without_exp_is_refused() -> None:
    fake = FakeIssuer()
    error = await refused(
        validator_for(fake).validate(sign(fake.key, claims(exp=None))), "TOKEN_INVALID"
    )
    assert "exp" in error.message


async def test_a_token_not_yet_valid_is_refused() -> None:
    fake = FakeIssuer()
    now = int(time.time())
    await refused(
        validator_for(fake).validate(sign(fake.key, claims(nbf=now + 600))), "TOKEN_INVALID"
    )
    await refused(
        validator_for(fake).validate(sign(fake.key, claims(iat=now + 600))), "TOKEN_INVALID"
    )
    # A clock a few seconds ahead of ours is within the leeway.
    await validator_for(fake).validate(sign(fake.key, claims(nbf=now + 5, iat=now + 5)))


async def test_a_token_for_another_audience_is_refused() -> None:
    fake = FakeIssuer()
    validator = validator_for(fake)
    await refused(
        validator.validate(sign(fake.key, claims(aud="urn:other-api"))), "AUDIENCE_MISMATCH"
    )
    await refused(validator.validate(sign(fake.key, claims(aud=None))), "AUDIENCE_MISMATCH")
    await validator.validate(sign(fake.key, claims(aud=["urn:other-api", AUDIENCE])))


async def test_an_untrusted_issuer_is_refused_and_its_keys_never_fetched() -> None:
    fake = FakeIssuer()
    token = sign(fake.key, claims(iss="https://evil.test"))
    await refused(validator_for(fake).validate(token), "ISSUER_UNTRUSTED")
    assert fake.requests == []
    assert issubclass(IssuerUntrustedError, AuthenticationError)


async def test_a_signature_by_another_key_under_a_known_kid_is_refused() -> None:
    fake = FakeIssuer()
    impostor = ECKey.generate_key("P-256", private=True)
    token = sign(impostor, claims(), kid=fake.key.kid)
    await refused(validator_for(fake).validate(token), "TOKEN_INVALID")


async def test_a_key_embedded_in_the_header_is_ignored() -> None:
    fake = FakeIssuer()
    validator = validator_for(fake)
    attacker = ECKey.generate_key("P-256", private=True, auto_kid=True)
    embedded = dict(attacker.as_dict(private=False))
    # The attacker's own kid: not the issuer's, so refused after (at most) one re-fetch.
    await refused(validator.validate(sign(attacker, claims(), jwk=embedded)), "TOKEN_INVALID")
    # The issuer's kid with the attacker's key in `jwk`: the signature does not verify.
    forged = sign(attacker, claims(), jwk=embedded, kid=fake.key.kid)
    await refused(validator.validate(forged), "TOKEN_INVALID")


async def test_a_key_set_url_in_the_header_is_never_fetched() -> None:
    fake = FakeIssuer()
    attacker = ECKey.generate_key("P-256", private=True, auto_kid=True)
    token = sign(attacker, claims(), jku="https://evil.test/jwks", x5u="https://evil.test/x5u")
    await refused(validator_for(fake).validate(token), "TOKEN_INVALID")
    assert fake.requests
    assert all(url.startswith(fake.issuer) for url in fake.requests)


async def test_header_extensions_and_encrypted_tokens_are_refused() -> None:
    fake = FakeIssuer()
    validator = validator_for(fake)
    header = {"alg": "ES256", "typ": "at+jwt", "kid": fake.key.kid, "crit": ["x-extension"]}
    critical = f"{b64_json(header)}.{b64_json(claims())}.c2lnbmF0dXJl"
    await refused(validator.validate(critical), "TOKEN_INVALID")
    five_parts = f"{b64_json({'alg': 'RSA-OAEP', 'enc': 'A256GCM'})}.a.b.c.d"
    await refused(validator.validate(five_parts), "TOKEN_INVALID")
    await refused(validator.validate("not a token"), "TOKEN_INVALID")


async def test_unknown_kid_refetches_once_and_accepts_the_rotated_key() -> None:
    fake = FakeIssuer()
    clock = Monotonic()
    validator = validator_for(fake, refetch_interval_s=10, monotonic=clock)
    await validator.validate(sign(fake.key, claims()))
    assert fake.jwks_fetches() == 1

    clock.now += 11  # the issuer rotates later than the re-fetch interval
    rotated = fake.rotate()
    await validator.validate(sign(rotated, claims()))
    assert fake.jwks_fetches() == 2

    # Another unknown kid soon after: refused without a fetch (at most one per interval).
    fake.rotate()
    await refused(validator.validate(sign(fake.key, claims())), "TOKEN_INVALID")
    assert fake.jwks_fetches() == 2
    clock.now += 11
    await validator.validate(sign(fake.key, claims()))
    assert fake.jwks_fetches() == 3


async def test_concurrent_tokens_with_a_new_kid_cause_a_single_fetch() -> None:
    fake = FakeIssuer(delay_s=0.05)  # a slow key set lets the requests pile up
    clock = Monotonic()
    validator = validator_for(fake, monotonic=clock)
    await validator.validate(sign(fake.key, claims()))
    clock.now += 11
    rotated = fake.rotate()

    results = await asyncio.gather(
        *(validator.validate(sign(rotated, claims())) for _ in range(500)),
        return_exceptions=True,
    )

    assert all(isinstance(r, Caller) for r in results), {type(r) for r in results}
    assert fake.jwks_fetches() == 2


async def test_first_use_of_many_concurrent_tokens_fetches_once() -> None:
    fake = FakeIssuer(delay_s=0.05)
    validator = validator_for(fake)
    await asyncio.gather(*(validator.validate(sign(fake.key, claims())) for _ in range(50)))
    assert fake.jwks_fetches() == 1


async def test_keys_are_discovered_from_the_openid_configuration() -> None:
    fake = FakeIssuer()
    await validator_for(fake, discover=True).validate(sign(fake.key, claims()))
    assert fake.requests == [
        f"{fake.issuer}/.well-known/openid-configuration",
        f"{fake.issuer}/jwks",
    ]


async def test_a_discovery_document_of_another_issuer_is_not_used() -> None:
    fake = FakeIssuer()
    fake.metadata_issuer = "https://evil.test"
    error = await refused(
        validator_for(fake, discover=True).validate(sign(fake.key, claims())),
        "ISSUER_KEYS_UNAVAILABLE",
    )
    assert isinstance(error, IssuerKeysUnavailableError)
    assert not any(url.endswith("/jwks") for url in fake.requests)


async def test_an_unreachable_key_set_is_unavailable_not_unauthenticated() -> None:
    fake = FakeIssuer()
    fake.down = True
    await refused(validator_for(fake).validate(sign(fake.key, claims())), "ISSUER_KEYS_UNAVAILABLE")


async def test_retry_info_says_the_real_wait_and_a_failed_first_fetch_is_retried_soon() -> None:
    """Issue 11, finding 10: the refusal said "retry in 1 s" but refused for 10 s."""
    fake = FakeIssuer()
    fake.down = True
    clock = Monotonic()
    validator = validator_for(fake, refetch_interval_s=10, first_fetch_retry_s=2, monotonic=clock)

    first = await refused(validator.validate(sign(fake.key, claims())), "ISSUER_KEYS_UNAVAILABLE")
    assert first.retry_after_s == pytest.approx(2.0)
    clock.now += 1.5
    second = await refused(validator.validate(sign(fake.key, claims())), "ISSUER_KEYS_UNAVAILABLE")
    assert second.retry_after_s == pytest.approx(0.5, abs=0.002)
    assert fake.jwks_fetches() == 1  # no fetch before the wait it announced

    fake.down = False
    clock.now += 0.5  # exactly when it said: the fetch is tried again, and works
    await validator.validate(sign(fake.key, claims()))
    assert fake.jwks_fetches() == 2


async def test_stale_keys_are_kept_when_a_refetch_fails() -> None:
    fake = FakeIssuer()
    clock = Monotonic()
    validator = validator_for(fake, monotonic=clock)
    await validator.validate(sign(fake.key, claims()))
    fake.down = True
    clock.now += 400  # past the cache lifetime
    await validator.validate(sign(fake.key, claims()))
    assert fake.jwks_fetches() == 2


async def test_rsa_keys_work_and_weak_ones_are_ignored() -> None:
    fake = FakeIssuer()
    strong = RSAKey.generate_key(2048, private=True, auto_kid=True)
    fake.rotate(strong)
    validator = validator_for(fake)
    await validator.validate(sign(strong, claims()))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)  # that is the point
        weak = RSAKey.generate_key(1024, private=True, auto_kid=True)
        weak_token = sign(weak, claims())
    fake.extra_jwks.append(dict(weak.as_dict(private=False)))
    await refused(validator.validate(weak_token), "TOKEN_INVALID")


async def test_scp_and_sub_are_read_when_scope_and_client_id_are_absent() -> None:
    fake = FakeIssuer()
    token = sign(fake.key, claims(scope=None, client_id=None, sub="airline-a", scp=["orders:read"]))
    caller = await validator_for(fake).validate(token)
    assert caller.partner_id == "airline-a"
    assert caller.scopes == {"orders:read"}


async def test_errors_say_why_without_repeating_the_token() -> None:
    fake = FakeIssuer()
    now = int(time.time())
    token = sign(fake.key, claims(exp=now - 100))
    with pytest.raises(TokenExpiredError) as caught:
        await validator_for(fake).validate(token)
    assert token not in caught.value.message
    assert AudienceMismatchError.code.name == "UNAUTHENTICATED"
