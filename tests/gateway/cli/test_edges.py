"""How the command line tells a missing gateway or collector from other failures, and the
sandbox knobs it documents."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from gateway.cli.errors import gateway_listening
from gateway.cli.options import client_target
from gateway.cli.otel_edge import _without_otlp, exports_traces, unreachable_otlp_endpoints
from gateway.cli.sandbox_partners import KNOBS, check_knobs, knobs_help
from sandbox import Knobs

pytestmark = pytest.mark.unit


@pytest.fixture
def listening_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_a_gateway_is_listening_or_not_or_cannot_be_told(
    listening_port: int, closed_port: int
) -> None:
    assert gateway_listening(f"127.0.0.1:{listening_port}") is True
    assert gateway_listening(f"127.0.0.1:{closed_port}") is False
    assert gateway_listening("dns:///gateway.example") is None
    assert gateway_listening("unix:/run/gateway.sock") is None


def test_the_client_calls_a_wildcard_listen_address_on_this_host() -> None:
    assert client_target("0.0.0.0:50051") == "127.0.0.1:50051"
    assert client_target("[::]:50051") == "[::1]:50051"
    assert client_target("10.1.2.3:50051") == "10.1.2.3:50051"


def test_otlp_endpoints_without_a_collector_are_found(
    listening_port: int, closed_port: int
) -> None:
    environ = {
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"http://127.0.0.1:{listening_port}",
        "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": f"http://127.0.0.1:{closed_port}",
    }

    assert unreachable_otlp_endpoints(environ) == [f"http://127.0.0.1:{closed_port}"]
    assert unreachable_otlp_endpoints({}) == []


def test_dropping_otlp_keeps_the_other_exporters() -> None:
    environ = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317",
        "OTEL_TRACES_EXPORTER": "otlp,console",
        "OTEL_METRICS_EXPORTER": "otlp",
        "OTEL_SERVICE_NAME": "demo",
    }

    assert _without_otlp(environ) == {
        "OTEL_TRACES_EXPORTER": "console",
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_SERVICE_NAME": "demo",
    }


def test_trace_ids_are_shown_only_when_traces_go_somewhere(
    monkeypatch: pytest.MonkeyPatch, listening_port: int, closed_port: int
) -> None:
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_TRACES_EXPORTER"):
        monkeypatch.delenv(name, raising=False)
    assert not exports_traces()
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")
    assert exports_traces()
    monkeypatch.delenv("OTEL_TRACES_EXPORTER")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{listening_port}")
    assert exports_traces(short_lived=True)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{closed_port}")
    assert exports_traces()  # a server keeps trying
    assert not exports_traces(short_lived=True)  # a demo drops the export


def test_every_knob_is_documented_with_its_default() -> None:
    defaults = Knobs().to_json()

    assert set(KNOBS) == set(defaults)
    help_text = knobs_help()
    for name in KNOBS:
        assert f"{name} (default " in help_text


def test_knobs_are_checked_before_anything_starts() -> None:
    check_knobs({"airline-a": {"outage": True, "latency_ms": 500}})
    with pytest.raises(ValueError, match="no sandbox partner 'airline-z'; the partners: tele"):
        check_knobs({"airline-z": {"outage": True}})
    with pytest.raises(ValueError, match="car-b: error_rate must be a number between 0 and 1"):
        check_knobs({"car-b": {"error_rate": 2}})
