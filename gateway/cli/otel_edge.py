"""Telemetry for a command, from the process's `OTEL_*` variables, read here once.

An OTLP endpoint with no collector behind it costs a short command dearly: the exporter retries
for many seconds at exit and ends in ERROR lines. So before exporting, the command checks that
something listens at each OTLP endpoint and says at once when nothing does. A serving command
keeps exporting (a collector may come up later); a short one (`demo --once`) drops the OTLP
export instead of waiting on it.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from urllib.parse import urlsplit

from rich.console import Console
from rich.markup import escape

from gateway.telemetry import Telemetry, instrument_partner_http, setup_telemetry

__all__ = ["edge_telemetry", "exports_traces", "unreachable_otlp_endpoints"]

_ENDPOINTS = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
)
_EXPORTER_CHOICES = ("OTEL_TRACES_EXPORTER", "OTEL_METRICS_EXPORTER")
_OTLP_GRPC_PORT = 4317
_PROBE_TIMEOUT_S = 1.0


def edge_telemetry(
    service_name: str, console: Console | None = None, *, short_lived: bool = False
) -> Telemetry:
    """Telemetry as the `OTEL_*` variables ask, told to `console` when a collector is missing."""
    environ: Mapping[str, str] = os.environ
    missing = unreachable_otlp_endpoints(environ)
    if missing and console is not None:
        where = ", ".join(missing)
        consequence = (
            "not exporting traces or metrics"
            if short_lived
            else "exports fail until one listens there"
        )
        console.print(
            f"[yellow]No OpenTelemetry collector listens at {escape(where)}: "
            f"{consequence} (start one first, see docs/operations.md).[/yellow]"
        )
    if missing and short_lived:
        environ = _without_otlp(environ)
    telemetry = setup_telemetry(environ, service_name)
    instrument_partner_http(telemetry)
    return telemetry


def exports_traces(*, short_lived: bool = False) -> bool:
    """Whether `edge_telemetry` (with the same `short_lived`) sends spans anywhere: only then
    is a trace id worth showing to a person."""
    environ: Mapping[str, str] = os.environ
    if short_lived and unreachable_otlp_endpoints(environ):
        environ = _without_otlp(environ)
    chosen = environ.get("OTEL_TRACES_EXPORTER")
    if chosen is None:  # the rule of gateway.telemetry: OTLP when an endpoint is configured
        return bool(
            environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
            or environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        )
    return bool({c.strip().lower() for c in chosen.split(",") if c.strip()} - {"none"})


def unreachable_otlp_endpoints(environ: Mapping[str, str]) -> list[str]:
    """The configured OTLP endpoints at which nothing accepts a connection."""
    endpoints = {environ[name] for name in _ENDPOINTS if environ.get(name)}
    return sorted(e for e in endpoints if not _listening(e))


def _listening(endpoint: str) -> bool:
    parts = urlsplit(endpoint if "://" in endpoint else f"http://{endpoint}")
    if parts.hostname is None:
        return True  # not ours to judge: the exporter will say
    try:
        port = parts.port or _OTLP_GRPC_PORT
        with socket.create_connection((parts.hostname, port), timeout=_PROBE_TIMEOUT_S):
            return True
    except (OSError, ValueError):
        return False


def _without_otlp(environ: Mapping[str, str]) -> dict[str, str]:
    """`environ` with every OTLP exporter taken out (others, such as console, stay)."""
    kept = {k: v for k, v in environ.items() if k not in _ENDPOINTS}
    for name in _EXPORTER_CHOICES:
        if name in kept:
            choices = [c.strip() for c in kept[name].split(",") if c.strip().lower() != "otlp"]
            kept[name] = ",".join(choices) or "none"
    return kept
