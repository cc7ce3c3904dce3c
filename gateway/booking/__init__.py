"""Booking a solution across companies: the saga, its recovery, and the OrderService."""

from gateway.booking.notifier import OrderNotifier
from gateway.booking.recovery import recovery_loop, resume_unfinished
from gateway.booking.saga import (
    CANCEL_REQUESTED,
    BookingStore,
    SagaRunner,
    SagaSettings,
    StepHook,
)
from gateway.booking.service import OrderService

__all__ = [
    "CANCEL_REQUESTED",
    "BookingStore",
    "OrderNotifier",
    "OrderService",
    "SagaRunner",
    "SagaSettings",
    "StepHook",
    "recovery_loop",
    "resume_unfinished",
]
