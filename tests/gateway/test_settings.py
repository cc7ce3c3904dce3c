"""Settings and the policies they configure: each policy is the one source of its defaults
and its checks, so a value that cannot work is refused when it is made and when the settings
load, naming the field; and no partner (so no sandbox secret) is configured by default."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from pydantic import ValidationError

from adapters import RetryPolicy
from gateway.booking import SagaSettings
from gateway.resilience import BreakerPolicy, BulkheadPolicy
from gateway.settings import (
    BookingSettings,
    BreakerSettings,
    BulkheadSettings,
    GatewaySettings,
    RetrySettings,
)

# The last test starts an interpreter: each of the others is marked `unit` on its own.
unit = pytest.mark.unit

# (policy, field, a value or values that cannot work): the field is named in the error.
BAD_POLICIES: list[tuple[type[Any], str, dict[str, Any]]] = [
    (BreakerPolicy, "window", {"window": 0}),
    (BreakerPolicy, "min_calls", {"min_calls": 0}),
    (BreakerPolicy, "min_calls", {"window": 4, "min_calls": 5}),  # would never open
    (BreakerPolicy, "failure_ratio", {"failure_ratio": 0.0}),
    (BreakerPolicy, "failure_ratio", {"failure_ratio": 1.5}),
    (BreakerPolicy, "cool_down_s", {"cool_down_s": -1.0}),
    (BulkheadPolicy, "max_concurrent", {"max_concurrent": 0}),
    (BulkheadPolicy, "max_waiting", {"max_waiting": -1}),
    (SagaSettings, "step_timeout_s", {"step_timeout_s": 0.0}),
    (SagaSettings, "lease_ttl_s", {"lease_ttl_s": -1.0}),
    (SagaSettings, "undo_attempts", {"undo_attempts": 0}),
    (RetryPolicy, "max_attempts", {"max_attempts": 0}),
    (RetryPolicy, "max_backoff_s", {"max_backoff_s": -1.0}),
]


@unit
@pytest.mark.parametrize(("policy", "field", "values"), BAD_POLICIES)
def test_a_policy_that_cannot_work_is_refused_naming_the_field(
    policy: type[Any], field: str, values: dict[str, Any]
) -> None:
    with pytest.raises(ValueError, match=field):
        policy(**values)


# (settings as in a YAML file, the setting named in the error)
BAD_SETTINGS: list[tuple[dict[str, Any], str]] = [
    ({"resilience": {"breaker": {"window": 0}}}, "window"),
    # Each value is fine alone; together they are a breaker that never opens, which only the
    # policy's own check sees.
    ({"resilience": {"breaker": {"window": 4, "min_calls": 5}}}, "min_calls"),
    ({"resilience": {"breaker": {"failure_ratio": 2}}}, "failure_ratio"),
    ({"resilience": {"bulkhead": {"max_concurrent": 0}}}, "max_concurrent"),
    ({"resilience": {"bulkhead": {"max_waiting": -1}}}, "max_waiting"),
    ({"booking": {"step_timeout_s": 0}}, "step_timeout_s"),
    ({"booking": {"lease_ttl_s": -1}}, "lease_ttl_s"),
    ({"retry": {"max_attempts": 0}}, "max_attempts"),
    ({"retry": {"initial_backoff_s": 2, "max_backoff_s": 1}}, "max_backoff_s"),
]


@unit
@pytest.mark.parametrize(("document", "setting"), BAD_SETTINGS)
def test_settings_that_cannot_work_do_not_load(document: dict[str, Any], setting: str) -> None:
    with pytest.raises(ValidationError) as caught:
        GatewaySettings.model_validate(document)
    section = next(iter(document))
    assert caught.value.errors()[0]["loc"][0] == section
    assert setting in str(caught.value)


@unit
@pytest.mark.parametrize(
    ("settings", "policy"),
    [
        (RetrySettings(), RetryPolicy()),
        (BreakerSettings(), BreakerPolicy()),
        (BulkheadSettings(), BulkheadPolicy()),
    ],
)
def test_settings_take_their_defaults_from_the_policy(
    settings: RetrySettings | BreakerSettings | BulkheadSettings, policy: object
) -> None:
    assert settings.policy() == policy
    # Every field of the policy is a setting, so none keeps a default of its own.
    assert set(type(settings).model_fields) == set(vars(policy))


@unit
def test_booking_settings_take_the_saga_defaults_from_its_policy() -> None:
    assert BookingSettings().saga_policy() == SagaSettings()
    configured = BookingSettings(step_timeout_s=2, lease_ttl_s=6)
    assert configured.saga_policy() == SagaSettings(step_timeout_s=2, lease_ttl_s=6)


@unit
def test_the_settings_hand_their_values_to_the_policies() -> None:
    settings = GatewaySettings.model_validate(
        {
            "resilience": {
                "breaker": {"window": 8, "min_calls": 2, "failure_ratio": 0.25, "cool_down_s": 1},
                "bulkhead": {"max_concurrent": 3, "max_waiting": 0},
            }
        }
    )
    assert settings.resilience.breaker.policy() == BreakerPolicy(8, 2, 0.25, 1.0)
    assert settings.resilience.bulkhead.policy() == BulkheadPolicy(3, 0)


@unit
def test_no_partner_and_no_sandbox_secret_is_a_default() -> None:
    settings = GatewaySettings()
    assert settings.partners == []
    assert settings.partner_configs() == []
    assert "sandbox" not in settings.model_dump_json()


def test_the_settings_import_first_without_a_cycle() -> None:
    # The settings import the saga's policy from the booking package, which imports the
    # authentication package, which must therefore not import the settings at run time.
    done = subprocess.run(
        [sys.executable, "-c", "import gateway.settings"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
