"""Tracer and meter providers from the standard `OTEL_*` variables, read once at the edge.

- `OTEL_SERVICE_NAME` (and `OTEL_RESOURCE_ATTRIBUTES`): the resource, as the SDK reads it.
- `OTEL_TRACES_EXPORTER`: `otlp`, `console` or `none`. Unset: `otlp` when an OTLP endpoint is
  configured (`OTEL_EXPORTER_OTLP_ENDPOINT` / `…_TRACES_ENDPOINT`), else `none` — the embedded
  default exports nothing rather than retrying a collector that is not there.
- `OTEL_METRICS_EXPORTER`: comma list of `otlp`, `prometheus`, `console`, `none` (same default
  rule); Prometheus listens on `OTEL_EXPORTER_PROMETHEUS_HOST`:`OTEL_EXPORTER_PROMETHEUS_PORT`
  (default 127.0.0.1:9464).
- Sampling: `OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG`, as the SDK reads them. When
  no span is exported and no sampler is set, spans are not recorded (their ids still exist
  for logs and `traceparent`) unless the caller's trace is sampled: recording them for
  nobody cost about a tenth of a composition's CPU.

Export runs in background processors: a collector that is down costs spans, never requests.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    ConsoleMetricExporter,
    MetricReader,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased

from gateway.telemetry.metrics import GatewayMetrics


@dataclass
class Telemetry:
    """The providers the gateway reports to; pass it down, never read globals."""

    tracer_provider: trace.TracerProvider = field(default_factory=trace.NoOpTracerProvider)
    meter_provider: metrics.MeterProvider = field(default_factory=metrics.NoOpMeterProvider)
    enabled: bool = False
    observed: bool = False
    """Whether anything reads what is recorded: a span processor or exporter, or a metric
    reader. Without, work that only feeds them is skipped (see `instrument_partner_http`)."""
    _metrics: GatewayMetrics | None = field(default=None, repr=False)

    @property
    def metrics(self) -> GatewayMetrics:
        """The gateway's instruments, created once per provider."""
        if self._metrics is None:
            self._metrics = GatewayMetrics(self.meter_provider)
        return self._metrics

    def tracer(self, name: str) -> trace.Tracer:
        return self.tracer_provider.get_tracer(name)

    def shutdown(self) -> None:
        """Flushes what is buffered; never raises (telemetry never breaks the request)."""
        for provider in (self.tracer_provider, self.meter_provider):
            shutdown = getattr(provider, "shutdown", None)
            if shutdown is not None:
                # An exporter's failure must not stop the gateway.
                with contextlib.suppress(Exception):
                    shutdown()


def _has_endpoint(environ: Mapping[str, str], signal: str) -> bool:
    return bool(
        environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or environ.get(f"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT")
    )


def _choices(environ: Mapping[str, str], variable: str, signal: str) -> set[str]:
    raw = environ.get(variable)
    if raw is None:
        return {"otlp"} if _has_endpoint(environ, signal) else set()
    return {c.strip().lower() for c in raw.split(",") if c.strip()} - {"none"}


def setup_telemetry(
    environ: Mapping[str, str],
    default_service_name: str,
    *,
    span_processors: Sequence[SpanProcessor] = (),
    metric_readers: Sequence[MetricReader] = (),
) -> Telemetry:
    """Providers as the environment asks, plus any processors/readers given (tests)."""
    resource = Resource.create(
        {} if environ.get("OTEL_SERVICE_NAME") else {"service.name": default_service_name}
    )
    processors = list(span_processors)
    traces = _choices(environ, "OTEL_TRACES_EXPORTER", "TRACES")
    if "otlp" in traces:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        processors.append(BatchSpanProcessor(OTLPSpanExporter(**_otlp_options(environ, "TRACES"))))
    if "console" in traces:  # stderr: stdout carries the command's own output (--json)
        processors.append(BatchSpanProcessor(ConsoleSpanExporter(out=sys.stderr)))
    sampler = None  # the SDK's, from OTEL_TRACES_SAMPLER
    if not processors and not environ.get("OTEL_TRACES_SAMPLER"):
        # Nothing would ever read a recorded span: make none, unless the caller's trace is
        # sampled (its flag is passed on to partners as it came). Spans still get their ids,
        # so log lines keep trace_id/span_id and partners still get a `traceparent`.
        sampler = ParentBased(root=ALWAYS_OFF)
    tracer_provider = TracerProvider(resource=resource, sampler=sampler)
    for processor in processors:
        tracer_provider.add_span_processor(processor)

    readers = list(metric_readers)
    wanted = _choices(environ, "OTEL_METRICS_EXPORTER", "METRICS")
    if "otlp" in wanted:
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter

        readers.append(
            PeriodicExportingMetricReader(OTLPMetricExporter(**_otlp_options(environ, "METRICS")))
        )
    if "console" in wanted:
        readers.append(PeriodicExportingMetricReader(ConsoleMetricExporter(out=sys.stderr)))
    if "prometheus" in wanted:
        readers.append(_prometheus_reader(environ))
    meter_provider = MeterProvider(resource=resource, metric_readers=readers)
    return Telemetry(
        tracer_provider, meter_provider, enabled=True, observed=bool(processors or readers)
    )


def _otlp_options(environ: Mapping[str, str], signal: str) -> dict[str, Any]:
    """Endpoint and timeout from `environ` (the exporters would read os.environ themselves)."""
    options: dict[str, Any] = {}
    endpoint = environ.get(f"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT") or environ.get(
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    )
    if endpoint:
        options["endpoint"] = endpoint
        options["insecure"] = endpoint.startswith("http://")
    timeout = environ.get(f"OTEL_EXPORTER_OTLP_{signal}_TIMEOUT") or environ.get(
        "OTEL_EXPORTER_OTLP_TIMEOUT"
    )
    if timeout:
        options["timeout"] = float(timeout)
    return options


def _prometheus_reader(environ: Mapping[str, str]) -> MetricReader:
    from opentelemetry.exporter.prometheus import PrometheusMetricReader
    from prometheus_client import start_http_server

    host = environ.get("OTEL_EXPORTER_PROMETHEUS_HOST", "127.0.0.1")
    port = int(environ.get("OTEL_EXPORTER_PROMETHEUS_PORT", "9464"))
    start_http_server(port, addr=host)
    return PrometheusMetricReader()


def instrument_partner_http(telemetry: Telemetry) -> None:
    """Traces every aiohttp client call (the adapters' transport): an HTTP client span and
    duration metrics per request. A process-wide patch: call once, at the edge.

    Only when something reads spans or metrics: otherwise the instrumentation's work per
    request (a span, an attributes dict, method checks against the environment, metric
    records — about 6 % of a composition's CPU) feeds nobody. Partners get `traceparent`
    either way: the adapters send it themselves (`adapters._http`)."""
    if not (telemetry.enabled and telemetry.observed):
        return
    from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor

    instrumentor = AioHttpClientInstrumentor()
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument(tracer_provider=telemetry.tracer_provider)


def uninstrument_partner_http() -> None:
    from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor

    instrumentor = AioHttpClientInstrumentor()
    if instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.uninstrument()
