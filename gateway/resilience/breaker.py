"""A circuit breaker per partner: a partner failing most of its recent calls is skipped at
once, and probed again after a cool-down."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True)
class BreakerPolicy:
    window: int = 20
    """How many recent calls are judged."""
    min_calls: int = 5
    """No verdict on fewer calls than this."""
    failure_ratio: float = 0.5
    """Open when at least this share of the window failed."""
    cool_down_s: float = 5.0
    """How long an open breaker refuses calls before one probe is let through."""

    def __post_init__(self) -> None:
        # A breaker that cannot work is refused where it is made, not found out under load.
        if self.window < 1:
            raise ValueError(f"window must be at least 1, got {self.window}")
        if self.min_calls < 1:
            raise ValueError(f"min_calls must be at least 1, got {self.min_calls}")
        if self.min_calls > self.window:
            # The window never holds that many calls: the breaker would never open.
            raise ValueError(
                f"min_calls must be at most window ({self.window}), got {self.min_calls}"
            )
        if not 0 < self.failure_ratio <= 1:
            raise ValueError(
                f"failure_ratio must be above 0 and at most 1, got {self.failure_ratio}"
            )
        if self.cool_down_s < 0:
            raise ValueError(f"cool_down_s must not be negative, got {self.cool_down_s}")


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    def __init__(self, policy: BreakerPolicy, clock: Callable[[], float] = time.monotonic) -> None:
        self._policy = policy
        self._clock = clock
        self._outcomes: deque[bool] = deque(maxlen=policy.window)
        self._state = BreakerState.CLOSED
        self._opened_at = 0.0
        self._probing = False

    @property
    def state(self) -> BreakerState:
        if self._state == BreakerState.OPEN and self._cooled_down():
            return BreakerState.HALF_OPEN
        return self._state

    def allow(self) -> bool:
        """May a call go out now? In half-open state, only one probe at a time."""
        if self._state == BreakerState.CLOSED:
            return True
        if self._state == BreakerState.OPEN:
            if not self._cooled_down():
                return False
            self._state = BreakerState.HALF_OPEN
        if self._probing:
            return False
        self._probing = True
        return True

    def record(self, success: bool) -> None:
        if self._state == BreakerState.HALF_OPEN:
            self._probing = False
            if success:
                self._state = BreakerState.CLOSED
                self._outcomes.clear()
            else:
                self._open()
            return
        self._outcomes.append(success)
        failures = self._outcomes.count(False)
        if (
            len(self._outcomes) >= self._policy.min_calls
            and failures / len(self._outcomes) >= self._policy.failure_ratio
        ):
            self._open()

    def reset(self) -> None:
        """Forget everything: closed, no recent calls."""
        self._outcomes.clear()
        self._state = BreakerState.CLOSED
        self._probing = False

    def release_probe(self) -> None:
        """The probe ended without a verdict (cancelled): let another one through."""
        self._probing = False

    def _open(self) -> None:
        self._state = BreakerState.OPEN
        self._opened_at = self._clock()
        self._outcomes.clear()

    def _cooled_down(self) -> bool:
        return self._clock() >= self._opened_at + self._policy.cool_down_s
