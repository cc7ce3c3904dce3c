"""Traces, metrics and logs, configured by the standard OTEL_* variables."""

from gateway.telemetry._setup import (
    Telemetry,
    instrument_partner_http,
    setup_telemetry,
    uninstrument_partner_http,
)
from gateway.telemetry.client import traced_call
from gateway.telemetry.interceptor import MetricsInterceptor
from gateway.telemetry.logs import JsonFormatter, configure_logging
from gateway.telemetry.metrics import GatewayMetrics
from gateway.telemetry.partner_calls import CallRecord, PartnerCallObserver

__all__ = [
    "CallRecord",
    "GatewayMetrics",
    "JsonFormatter",
    "MetricsInterceptor",
    "PartnerCallObserver",
    "Telemetry",
    "configure_logging",
    "instrument_partner_http",
    "setup_telemetry",
    "traced_call",
    "uninstrument_partner_http",
]
