"""One span and one RED sample per partner call: partner id and kind, component, operation,
outcome. The HTTP client spans of its attempts (and the partner's server spans, through
`traceparent`) nest under it. An `AdapterError` leaving the call names its outcome itself
(`AdapterError.outcome`); callers that turn failures into answers set `outcome` instead."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode

from adapters import AdapterError
from gateway.telemetry._setup import Telemetry
from gateway.telemetry.metrics import GatewayMetrics


@dataclass
class CallRecord:
    """Filled in by the caller: how the call ended."""

    span: Span
    outcome: str = "ok"


class PartnerCallObserver:
    def __init__(self, telemetry: Telemetry, metrics: GatewayMetrics) -> None:
        self._tracer = telemetry.tracer("gateway.partners")
        self._metrics = metrics

    @contextmanager
    def call(
        self, partner_id: str, partner_kind: str, operation: str, component: str
    ) -> Iterator[CallRecord]:
        attributes = {
            "partner.id": partner_id,
            "partner.kind": partner_kind,
            "partner.operation": operation,
            "component": component,
        }
        started = time.perf_counter()
        with self._tracer.start_as_current_span(
            f"partner.{operation}", kind=trace.SpanKind.INTERNAL, attributes=attributes
        ) as span:
            record = CallRecord(span)
            try:
                yield record
            except AdapterError as exc:
                record.outcome = exc.outcome
                raise
            except BaseException:
                if record.outcome == "ok":
                    record.outcome = "cancelled"
                raise
            finally:
                span.set_attribute("outcome", record.outcome)
                if record.outcome != "ok" and record.outcome != "no_offers":
                    span.set_status(Status(StatusCode.ERROR, record.outcome))
                sample = {
                    "partner.id": partner_id,
                    "partner.kind": partner_kind,
                    "operation": operation,
                    "outcome": record.outcome,
                }
                self._metrics.partner_calls.add(1, sample)
                self._metrics.partner_duration.record(
                    (time.perf_counter() - started) * 1000, sample
                )
