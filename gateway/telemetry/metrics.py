"""The gateway's metrics: RED per RPC and per partner, tokens, retries, circuits, business.

- `psg.rpc.requests` (counter), `psg.rpc.duration` (histogram, ms):
  rpc.method, rpc.grpc.status_code
- `psg.partner.calls` (counter), `psg.partner.duration` (histogram, ms):
  partner.id, partner.kind, operation, outcome
- `psg.partner.token_fetches`, `psg.partner.retries` (observable counters): partner.id
- `psg.partner.circuit_state` (observable gauge; 0 closed, 1 half-open, 2 open): partner.id
- `psg.solutions.composed` (counter): recipe, entry.partner
- `psg.bookings.final` (counter): state
- `psg.solutions.booked` (counter): recipe, entry.partner — take-up = booked ÷ composed
- `psg.feedback.responses` (counter): recipe, entry.partner, category (promoter, passive,
  detractor) — NPS = (promoters − detractors) ÷ all × 100
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation

PartnerStats = Callable[[], Iterable[tuple[str, float, float, float]]]
"""Per partner: (partner id, token fetches, retries, circuit state 0/1/2)."""


class GatewayMetrics:
    def __init__(self, provider: metrics.MeterProvider) -> None:
        meter = provider.get_meter("partner-gateway")
        self.rpc_requests = meter.create_counter("psg.rpc.requests", description="RPCs handled")
        self.rpc_duration = meter.create_histogram("psg.rpc.duration", unit="ms")
        self.partner_calls = meter.create_counter("psg.partner.calls", description="partner calls")
        self.partner_duration = meter.create_histogram("psg.partner.duration", unit="ms")
        self.solutions_composed = meter.create_counter("psg.solutions.composed")
        self.bookings_final = meter.create_counter("psg.bookings.final")
        self.solutions_booked = meter.create_counter(
            "psg.solutions.booked", description="bookings confirmed (fully or partially)"
        )
        self.feedback_responses = meter.create_counter(
            "psg.feedback.responses", description="customer scores by NPS category"
        )
        self._meter = meter
        self._partner_stats: PartnerStats = lambda: ()

    def watch_partners(self, stats: PartnerStats) -> None:
        """Registers the per-partner observable instruments, read from `stats` at export."""
        self._partner_stats = stats

        def observe(index: int) -> Callable[[CallbackOptions], Iterable[Observation]]:
            """Reads value `index` (0 token fetches, 1 retries, 2 circuit state) per partner."""

            def callback(options: CallbackOptions) -> Iterable[Observation]:
                observed = []
                for partner_id, fetches, retries, circuit in self._partner_stats():
                    value = (fetches, retries, circuit)[index]
                    observed.append(Observation(value, {"partner.id": partner_id}))
                return observed

            return callback

        self._meter.create_observable_counter("psg.partner.token_fetches", [observe(0)])
        self._meter.create_observable_counter("psg.partner.retries", [observe(1)])
        self._meter.create_observable_gauge("psg.partner.circuit_state", [observe(2)])
