"""The latency comparison of bench/edge_latency.py runs, and Envoy's cost per composition stays
small: the same compose directly over gRPC and through Envoy (gRPC, gRPC-Web, JSON)."""

from __future__ import annotations

from bench.edge_latency import measure

# Envoy on loopback adds about a millisecond or two (docs/front-ends.md); the bound leaves room
# for a loaded two-core machine running other tests, and still catches a path that buffers or
# waits (a stream held back, a retry, a DNS lookup per call).
OVERHEAD_BOUND_MS = 150.0


async def test_envoy_adds_little_to_a_composition() -> None:
    figures = await measure(compositions=5, partner_latency_ms=5)

    assert set(figures) == {
        "gRPC, direct",
        "gRPC through Envoy",
        "gRPC-Web through Envoy",
        "HTTP/JSON through Envoy",
    }
    direct = figures["gRPC, direct"]["p50_ms"]
    for name, row in figures.items():
        assert row["n"] == 5
        assert row["p50_ms"] - direct < OVERHEAD_BOUND_MS, (name, figures)
    print(figures)
