"""The `auth` settings: required by default with the embedded issuer, refused when required
with nobody to trust or nobody able to get a token, and shared sensibly by `serve --workers`;
and who the other per-caller policies see."""

from __future__ import annotations

import contextvars
from pathlib import Path

import pytest
from pydantic import ValidationError

from gateway.auth import missing_token_source
from gateway.callers import Caller, caller_of, set_caller
from gateway.cli.workers import share_issuer_key
from gateway.runtime import running_gateway
from gateway.settings import (
    AuthSettings,
    GatewaySettings,
    IssuerClientSettings,
    TokenIssuerSettings,
    TrustedIssuerSettings,
    load_settings,
)
from partnergateway.v1 import order_service_pb2


def test_auth_is_required_by_default_with_the_embedded_issuer() -> None:
    settings = GatewaySettings()
    assert settings.auth.required is True
    assert settings.auth.issuer.enabled is True
    assert settings.auth.issuer.clients == []


def test_requiring_tokens_needs_an_issuer_to_trust() -> None:
    with pytest.raises(ValidationError, match=r"trusted_issuers or auth\.issuer\.enabled"):
        AuthSettings(required=True, issuer=TokenIssuerSettings(enabled=False))
    AuthSettings(required=True, issuer=TokenIssuerSettings(enabled=True))


def test_tokens_nobody_can_obtain_are_a_configuration_error() -> None:
    # The defaults alone: an issuer without clients, no external issuer.
    problem = missing_token_source(AuthSettings())
    assert problem is not None
    assert "auth.issuer.clients" in problem
    assert "auth.trusted_issuers" in problem
    with_clients = AuthSettings(
        issuer=TokenIssuerSettings(
            clients=[IssuerClientSettings(client_id="telecom-cn", client_secret="s")]
        )
    )
    assert missing_token_source(with_clients) is None
    external = AuthSettings(trusted_issuers=[TrustedIssuerSettings(issuer="https://idp.test")])
    assert missing_token_source(external) is None
    assert missing_token_source(AuthSettings(required=False)) is None


async def test_a_gateway_nobody_can_call_does_not_start(
    gateway_settings: GatewaySettings, tmp_path: Path
) -> None:
    nobody = AuthSettings(issuer=TokenIssuerSettings(address="127.0.0.1:0"))
    settings = gateway_settings.model_copy(update={"auth": nobody, "state_dir": tmp_path})
    with pytest.raises(ValueError, match="no caller could ever get a token"):
        async with running_gateway(settings, "127.0.0.1:0"):
            pass


def test_no_algorithm_but_es256_and_rs256_may_be_trusted() -> None:
    with pytest.raises(ValidationError):
        AuthSettings.model_validate(
            {"trusted_issuers": [{"issuer": "https://idp.test", "algorithms": ["HS256"]}]}
        )


def test_the_environment_turns_auth_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PSG_AUTH__REQUIRED", "false")
    monkeypatch.setenv("PSG_AUTH__ISSUER__ENABLED", "false")
    settings = load_settings()
    assert not settings.auth.required
    assert not settings.auth.issuer.enabled


def test_workers_share_one_issuer_key(tmp_path: Path) -> None:
    off = GatewaySettings(
        auth=AuthSettings(required=False, issuer=TokenIssuerSettings(enabled=False))
    )
    assert share_issuer_key(off, tmp_path) is off
    on = GatewaySettings()
    shared = share_issuer_key(on, tmp_path)
    assert shared.auth.issuer.signing_key_file == tmp_path / "issuer-signing-key.json"
    own = tmp_path / "mine.json"
    configured = GatewaySettings(
        auth=AuthSettings(issuer=TokenIssuerSettings(enabled=True, signing_key_file=own))
    )
    assert share_issuer_key(configured, tmp_path).auth.issuer.signing_key_file == own


def test_rate_limits_count_the_authenticated_caller_not_the_named_partner() -> None:
    request = order_service_pb2.ListOrdersRequest(partner_id="airline-a")
    assert caller_of(request, None) == "airline-a"

    def as_telecom() -> str | None:
        set_caller(Caller("telecom-cn", frozenset(), "https://issuer.test"))
        return caller_of(request, None)

    assert contextvars.copy_context().run(as_telecom) == "telecom-cn"


def test_an_issuer_client_needs_a_way_to_authenticate() -> None:
    with pytest.raises(ValidationError, match="needs a client_secret or jwks"):
        IssuerClientSettings(client_id="telecom-cn")
