"""The feedback SQL both backends share; they differ only in their parameter slot."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from gateway.model import BOOKED_EVENTS, PASSIVE_MIN, PROMOTER_MIN, FeedbackRecord, KpiRow

# The `feedback` columns in `feedback_values` order, then created_at (each backend's own type).
FEEDBACK_COLUMNS = (
    "feedback_id, owner, solution_id, order_id, score, comment,"
    " request_id, request_hash, created_at"
)

# Literals, not parameters: they are constants of this module, never caller input.
_BOOKED = ", ".join(f"'{event}'" for event in BOOKED_EVENTS)

# Counts per (entry partner, recipe). Feedback is counted per solution first, so joining it
# does not multiply the solutions; a solution is booked when any of its orders has a
# (partially) confirmed event.
_KPI = f"""
    SELECT s.owner, s.recipe, COUNT(*),
        SUM(CASE WHEN EXISTS (
            SELECT 1 FROM orders o JOIN order_events e ON e.order_id = o.order_id
            WHERE o.solution_id = s.solution_id AND e.type IN ({_BOOKED})
        ) THEN 1 ELSE 0 END),
        COALESCE(SUM(f.responses), 0),
        COALESCE(SUM(f.promoters), 0),
        COALESCE(SUM(f.passives), 0),
        COALESCE(SUM(f.detractors), 0)
    FROM solutions s
    LEFT JOIN (
        SELECT solution_id,
            COUNT(*) AS responses,
            SUM(CASE WHEN score >= {PROMOTER_MIN} THEN 1 ELSE 0 END) AS promoters,
            SUM(CASE WHEN score >= {PASSIVE_MIN} AND score < {PROMOTER_MIN} THEN 1 ELSE 0 END)
                AS passives,
            SUM(CASE WHEN score < {PASSIVE_MIN} THEN 1 ELSE 0 END) AS detractors
        FROM feedback GROUP BY solution_id
    ) f ON f.solution_id = s.solution_id
    {{where}}
    GROUP BY s.owner, s.recipe
"""


def feedback_values(f: FeedbackRecord) -> tuple[Any, ...]:
    """The values of `FEEDBACK_COLUMNS` but the last, created_at."""
    return (
        f.feedback_id,
        f.owner,
        f.solution_id,
        f.order_id,
        f.score,
        f.comment,
        f.request_id,
        f.request_hash,
    )


def feedback_from_row(row: Sequence[Any], created_at: datetime) -> FeedbackRecord:
    """A record from the values of `feedback_values` and the time it was created."""
    feedback_id, owner, solution_id, order_id, score, comment, request_id, request_hash = row
    return FeedbackRecord(
        feedback_id=feedback_id,
        owner=owner,
        solution_id=solution_id,
        order_id=order_id,
        score=int(score),
        comment=comment,
        request_id=request_id,
        request_hash=request_hash,
        created_at=created_at,
    )


def kpi_query(partner_id: str | None, recipe: str | None, slot: str) -> tuple[str, list[str]]:
    """The KPI query for these filters, with `slot` ("?" or "%s") as parameter marker."""
    clauses: list[str] = []
    params: list[str] = []
    if partner_id is not None:
        clauses.append(f"s.owner = {slot}")
        params.append(partner_id)
    if recipe is not None:
        # "name" matches every "name@version"; a LIKE pattern would read `_` as a wildcard.
        prefix = f"{recipe}@"
        clauses.append(f"(s.recipe = {slot} OR substr(s.recipe, 1, {len(prefix)}) = {slot})")
        params += [recipe, prefix]
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    return _KPI.format(where=where), params


def kpi_rows_from(rows: Sequence[Sequence[Any]]) -> list[KpiRow]:
    """Records for the query's rows, sorted in Python: the databases' collations differ."""
    found = [
        KpiRow(
            entry_partner=owner,
            recipe=recipe,
            offered=int(offered),  # PostgreSQL's SUM of integers is numeric
            booked=int(booked),
            responses=int(responses),
            promoters=int(promoters),
            passives=int(passives),
            detractors=int(detractors),
        )
        for owner, recipe, offered, booked, responses, promoters, passives, detractors in rows
    ]
    return sorted(found, key=lambda row: (row.entry_partner, row.recipe))
