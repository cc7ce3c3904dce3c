"""Retry policy as a value: which failures are retried, how long to wait, when to stop."""

from __future__ import annotations

import time
from collections.abc import Callable

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


class RetryBudget:
    """A token bucket shared by all calls to one partner: every call earns `ratio` of a retry,
    time earns `min_per_s`, every retry spends one — only a retry that really follows, never
    the last attempt's failure. A partner that fails everything gets about `ratio` more load
    from retries, not `max_attempts` times the load."""

    def __init__(self, ratio: float, min_per_s: float, clock: Callable[[], float] = time.monotonic):
        self._ratio = ratio
        self._min_per_s = min_per_s
        self._clock = clock
        self._cap = max(10.0, min_per_s * 10)
        self._tokens = self._cap
        self._at = clock()

    def deposit(self) -> None:
        self._refill()
        self._tokens = min(self._cap, self._tokens + self._ratio)

    @property
    def tokens(self) -> float:
        """Retries that may follow now."""
        self._refill()
        return self._tokens

    def try_spend(self) -> bool:
        self._refill()
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self._cap, self._tokens + (now - self._at) * self._min_per_s)
        self._at = now


def _is_retryable(exc: BaseException) -> bool:
    # CancelledError is a BaseException, not an AdapterError: a cancelled caller is never retried.
    return isinstance(exc, AdapterError) and exc.retryable


def build_retrying(
    policy: RetryPolicy, deadline: float, budget: RetryBudget | None = None
) -> AsyncRetrying:
    """A fresh retrying object for one call (shared ones would share attempt counts).

    Stops after `max_attempts`, or before a wait that would end past `deadline` (a
    `time.monotonic()` instant), or when `budget` has no retry left. A partner's
    `Retry-After` lengthens the wait, never shortens it. What a call earns into `budget`
    (`RetryBudget.deposit`) is the caller's to pay in, once per call, retried or not.
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

    time_left = max(0.0, deadline - time.monotonic())
    limits = stop_after_attempt(policy.max_attempts) | stop_before_delay(time_left)

    def stop(state: RetryCallState) -> bool:
        # tenacity asks `stop` only once `retry` wants another attempt, and sleeps and retries
        # whenever it answers False: the one place where a token is spent on a retry that
        # really follows. The attempt and time limits are asked first, so the last attempt
        # spends nothing.
        if limits(state):
            return True
        return budget is not None and not budget.try_spend()

    return AsyncRetrying(
        retry=retry_if_exception(_is_retryable),
        wait=wait,
        stop=stop,
        reraise=True,
    )
