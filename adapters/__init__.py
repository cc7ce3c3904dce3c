"""Partner adapters: one module per partner API behind one narrow interface.

Knows nothing of the gateway. Every failure surfaces as an `AdapterError`.
"""

from adapters._answers import parse_offers
from adapters._currencies import ISO_4217_CODES, check_currency_code, is_currency_code
from adapters._errors import (
    AdapterError,
    BookingNotFound,
    CallNotSent,
    PartnerAuthError,
    PartnerProtocolError,
    PartnerRateLimited,
    PartnerRejected,
    PartnerServerError,
    PartnerTimeout,
    PartnerUnavailable,
)
from adapters._interface import AdapterFactory, PartnerAdapter
from adapters._model import (
    BookingStatus,
    Cancellation,
    Confirmation,
    HeldBooking,
    Hold,
    NotCovered,
    Offer,
    PartnerConfig,
    Price,
    QuoteRequest,
    RetryPolicy,
)
from adapters._reference import KindProtocol, ReferenceAdapter, stringify
from adapters._registry import (
    BUILTIN_ADAPTERS,
    UnknownAdapterError,
    create_adapter,
    resolve_factory,
)

__all__ = [
    "BUILTIN_ADAPTERS",
    "ISO_4217_CODES",
    "AdapterError",
    "AdapterFactory",
    "BookingNotFound",
    "BookingStatus",
    "CallNotSent",
    "Cancellation",
    "Confirmation",
    "HeldBooking",
    "Hold",
    "KindProtocol",
    "NotCovered",
    "Offer",
    "PartnerAdapter",
    "PartnerAuthError",
    "PartnerConfig",
    "PartnerProtocolError",
    "PartnerRateLimited",
    "PartnerRejected",
    "PartnerServerError",
    "PartnerTimeout",
    "PartnerUnavailable",
    "Price",
    "QuoteRequest",
    "ReferenceAdapter",
    "RetryPolicy",
    "UnknownAdapterError",
    "check_currency_code",
    "create_adapter",
    "is_currency_code",
    "parse_offers",
    "resolve_factory",
    "stringify",
]
