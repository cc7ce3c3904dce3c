"""What the adapter tests share: the config of a sandbox partner, deadlines, a fast retry."""

from __future__ import annotations

import time

from adapters import PartnerConfig, RetryPolicy
from sandbox import SandboxCluster

FAST = RetryPolicy(max_attempts=3, initial_backoff_s=0.01, max_backoff_s=0.02, jitter_s=0.0)


def config_for(
    sandbox: SandboxCluster, partner_id: str = "airline-a", **changes: object
) -> PartnerConfig:
    """The adapter config of a running sandbox partner, with `changes` applied."""
    running = sandbox.partners[partner_id]
    values: dict[str, object] = {
        "partner_id": partner_id,
        "kind": running.spec.kind,
        "name": running.spec.name,
        "base_url": running.base_url,
        "token_url": running.token_url,
        "client_id": "partner-gateway",
        "client_secret": running.spec.client_secrets["partner-gateway"],
        "retry": FAST,
    }
    values.update(changes)
    return PartnerConfig(**values)  # type: ignore[arg-type]


def soon(seconds: float = 5.0) -> float:
    """A deadline `seconds` from now, as adapters take it (`time.monotonic()`)."""
    return time.monotonic() + seconds
