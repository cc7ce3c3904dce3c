"""Client side of a traced call: a span whose context travels in the gRPC metadata."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import propagate, trace

from gateway.telemetry._setup import Telemetry


@contextmanager
def traced_call(telemetry: Telemetry, name: str) -> Iterator[tuple[list[tuple[str, str]], str]]:
    """Yields the metadata to send (`traceparent`) and the trace id to show."""
    with telemetry.tracer("partner-gateway.cli").start_as_current_span(
        name, kind=trace.SpanKind.CLIENT
    ) as span:
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        trace_id = trace.format_trace_id(span.get_span_context().trace_id)
        yield list(carrier.items()), trace_id
