"""Partner adapters: one module per partner API behind one narrow interface.

Knows nothing of the gateway. Every failure surfaces as an `AdapterError`.
"""

from adapters._currencies import ISO_4217_CODES, check_currency_code, is_currency_code
from adapters._errors import (
    AdapterError,
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
    Cancellation,
    Confirmation,
    Hold,
    Offer,
    PartnerConfig,
    Price,
    QuoteRequest,
    RetryPolicy,
)
from adapters._reference import KindProtocol, ReferenceAdapter, parse_offers, stringify
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
    "Cancellation",
    "Confirmation",
    "Hold",
    "KindProtocol",
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
