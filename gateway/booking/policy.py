"""The booking saga's policy: how long a partner call may take, how long a lease lasts, how
often an undo is tried.

A module of its own, importing nothing, so the settings (`gateway.settings.BookingSettings`)
can take their defaults and checks from it without importing the saga and all it calls.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SagaSettings"]


@dataclass(frozen=True)
class SagaSettings:
    """The saga's policy; the `booking` settings take their defaults from it."""

    step_timeout_s: float = 5.0
    """Budget of one partner call, retries included."""
    lease_ttl_s: float = 15.0
    """A replica that stops renewing for this long loses its sagas to another."""
    undo_attempts: int = 3
    """A release (or the repeat of a hold whose answer was lost) is tried this many times,
    each with twice the budget of the one before, before a person must look."""

    def __post_init__(self) -> None:
        # A saga that cannot work is refused where it is made, not found out mid-booking.
        for name in ("step_timeout_s", "lease_ttl_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.undo_attempts < 1:
            raise ValueError(f"undo_attempts must be at least 1, got {self.undo_attempts}")
