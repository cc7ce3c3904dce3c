"""What the default telemetry set-up records: nothing that nobody reads, but ids for logs and
partners always, and a caller's sampled trace as it came."""

from __future__ import annotations

import pytest
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from gateway.telemetry import setup_telemetry

pytestmark = pytest.mark.unit


def _sampled_parent() -> Context:
    parent = SpanContext(
        trace_id=0x1234, span_id=0x42, is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED)
    )
    return trace.set_span_in_context(NonRecordingSpan(parent))


def test_without_an_exporter_spans_are_not_recorded_but_keep_their_ids() -> None:
    tracer = setup_telemetry({}, "test").tracer("t")
    with tracer.start_as_current_span("compose") as span:
        context = span.get_span_context()
        assert not span.is_recording()
        assert context.is_valid  # log lines and traceparent still have them
        assert not context.trace_flags.sampled


def test_a_callers_sampled_trace_is_still_recorded_and_passed_on() -> None:
    tracer = setup_telemetry({}, "test").tracer("t")
    with tracer.start_as_current_span("compose", context=_sampled_parent()) as span:
        assert span.is_recording()
        assert span.get_span_context().trace_id == 0x1234
        assert span.get_span_context().trace_flags.sampled


def test_spans_are_recorded_when_something_reads_them() -> None:
    exporter = InMemorySpanExporter()
    telemetry = setup_telemetry({}, "test", span_processors=[SimpleSpanProcessor(exporter)])
    with telemetry.tracer("t").start_as_current_span("compose") as span:
        assert span.is_recording()
    assert [s.name for s in exporter.get_finished_spans()] == ["compose"]


def test_a_sampler_set_by_the_operator_is_respected() -> None:
    tracer = setup_telemetry({"OTEL_TRACES_SAMPLER": "always_on"}, "test").tracer("t")
    with tracer.start_as_current_span("compose") as span:
        # the SDK reads the variable from the process environment; with none set there it
        # falls back to its own default, which records
        assert span.is_recording()


def test_telemetry_is_observed_only_when_something_reads_it() -> None:
    assert not setup_telemetry({}, "test").observed
    reader = InMemoryMetricReader()
    assert setup_telemetry({}, "test", metric_readers=[reader]).observed
    exporter = SimpleSpanProcessor(InMemorySpanExporter())
    assert setup_telemetry({}, "test", span_processors=[exporter]).observed
    assert setup_telemetry({"OTEL_TRACES_EXPORTER": "console"}, "test").observed
