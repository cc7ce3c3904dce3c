"""Retry policy as a value: which failures are retried, how long to wait, when to stop."""

from __future__ import annotations

import time

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_before_delay,
    wait_exponential_jitter,
)

from adapters._errors import AdapterError, PartnerUnavailable
from adapters._model import RetryPolicy


def _is_retryable(exc: BaseException) -> bool:
    # CancelledError is a BaseException, not an AdapterError: a cancelled caller is never retried.
    return isinstance(exc, AdapterError) and exc.retryable


def build_retrying(policy: RetryPolicy, deadline: float) -> AsyncRetrying:
    """A fresh retrying object for one call (shared ones would share attempt counts).

    Stops after `max_attempts`, or before a wait that would end past `deadline` (a
    `time.monotonic()` instant). A partner's `Retry-After` lengthens the wait, never shortens it.
    """
    backoff = wait_exponential_jitter(
        multiplier=policy.initial_backoff_s, max=policy.max_backoff_s, jitter=policy.jitter_s
    )

    def wait(state: RetryCallState) -> float:
        seconds = backoff(state)
        outcome = state.outcome
        exc = outcome.exception() if outcome is not None else None
        if isinstance(exc, PartnerUnavailable) and exc.retry_after_s is not None:
            seconds = max(seconds, exc.retry_after_s)
        return seconds

    budget = max(0.0, deadline - time.monotonic())
    return AsyncRetrying(
        retry=retry_if_exception(_is_retryable),
        wait=wait,
        stop=stop_after_attempt(policy.max_attempts) | stop_before_delay(budget),
        reraise=True,
    )
