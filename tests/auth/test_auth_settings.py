"""The `auth` settings: off by default, refused when required with nobody to trust, and
shared sensibly by `serve --workers`; and who the other per-caller policies see."""

from __future__ import annotations

import contextvars
from pathlib import Path

import pytest
from pydantic import ValidationError

from gateway.auth import Caller
from gateway.auth._caller import set_caller
from gateway.callers import caller_of
from gateway.cli.workers import share_issuer_key
from gateway.settings import (
    AuthSettings,
    GatewaySettings,
    IssuerClientSettings,
    TokenIssuerSettings,
    load_settings,
)
from partnergateway.v1 import order_service_pb2


def test_auth_is_off_by_default() -> None:
    settings = GatewaySettings()
    assert settings.auth.required is False
    assert settings.auth.issuer.enabled is False


def test_requiring_tokens_needs_an_issuer_to_trust() -> None:
    with pytest.raises(ValidationError, match=r"trusted_issuers or auth\.issuer\.enabled"):
        AuthSettings(required=True)
    AuthSettings(required=True, issuer=TokenIssuerSettings(enabled=True))


def test_no_algorithm_but_es256_and_rs256_may_be_trusted() -> None:
    with pytest.raises(ValidationError):
        AuthSettings.model_validate(
            {"trusted_issuers": [{"issuer": "https://idp.test", "algorithms": ["HS256"]}]}
        )


def test_the_environment_turns_auth_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PSG_AUTH__REQUIRED", "true")
    monkeypatch.setenv("PSG_AUTH__ISSUER__ENABLED", "true")
    settings = load_settings()
    assert settings.auth.required
    assert settings.auth.issuer.enabled


def test_workers_share_one_issuer_key(tmp_path: Path) -> None:
    off = GatewaySettings()
    assert share_issuer_key(off, tmp_path) is off
    on = GatewaySettings(auth=AuthSettings(issuer=TokenIssuerSettings(enabled=True)))
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
