"""Customer feedback and the KPIs it feeds: NPS and take-up, per entry partner and recipe.

The stores count the KPI rows in SQL with the thresholds below; the two ratios are derived
from the counts here, identically for both backends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

PROMOTER_MIN = 9  # 9-10
PASSIVE_MIN = 7  # 7-8; 0-6 are detractors

# The saga's order events that mark an order as having reached CONFIRMED or
# PARTIALLY_CONFIRMED. Events are never deleted, so a booking cancelled later still counts
# as taken up, as the KPI asks ("once an order for it reached" either state).
BOOKED_EVENTS = ("order_confirmed", "order_partially_confirmed")


@dataclass(frozen=True)
class FeedbackRecord:
    feedback_id: str
    owner: str  # the entry partner that submitted it and owns its solution/order
    solution_id: str  # for feedback on an order: the order's solution
    order_id: str | None
    score: int  # 0-10
    comment: str
    request_id: str
    request_hash: str  # of the request's content without its id
    created_at: datetime


@dataclass(frozen=True)
class KpiRow:
    """The counts behind the customer KPIs of one entry partner and one recipe."""

    entry_partner: str
    recipe: str  # "name@version"; "" for solutions stored before recipes were recorded
    offered: int  # solutions composed
    booked: int  # solutions with an order that reached (partially) confirmed
    responses: int
    promoters: int
    passives: int
    detractors: int

    @property
    def take_up(self) -> float:
        """booked / offered, 0 when nothing was offered."""
        return self.booked / self.offered if self.offered else 0.0

    @property
    def nps(self) -> float | None:
        """(promoters - detractors) / responses * 100; None without responses."""
        if not self.responses:
            return None
        return (self.promoters - self.detractors) * 100 / self.responses
