"""What the customer KPIs need kept: feedback (with its request id, AIP-155) and the KPI rows.

The KPI rows are counted in SQL (`_feedback_sql.py`), one row per (entry partner, recipe) of
the stored solutions, with the thresholds of `gateway.model.feedback`.
"""

from __future__ import annotations

from typing import Protocol

from gateway.model import FeedbackRecord, KpiRow


class FeedbackStore(Protocol):
    async def save_feedback(self, feedback: FeedbackRecord) -> tuple[FeedbackRecord, bool]:
        """Stores `feedback` unless its owner's `request_id` is taken, atomically. When taken,
        stores nothing and returns the earlier feedback with False (a concurrent replay
        resolves to the first); otherwise the stored feedback with True."""
        ...

    async def kpi_rows(self, partner_id: str | None, recipe: str | None) -> list[KpiRow]:
        """One row per (entry partner, recipe) with at least one solution, sorted by both;
        only `partner_id`'s rows, and only `recipe`'s ("name@version", or "name" for every
        version), when given."""
        ...
