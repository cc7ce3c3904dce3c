"""Stored feedback and KPI rows as protobuf messages."""

from __future__ import annotations

from google.protobuf import timestamp_pb2

from gateway.model import FeedbackRecord, KpiRow
from partnergateway.v1 import feedback_pb2


def feedback_message(feedback: FeedbackRecord) -> feedback_pb2.Feedback:
    created = timestamp_pb2.Timestamp()
    created.FromDatetime(feedback.created_at)
    return feedback_pb2.Feedback(
        feedback_id=feedback.feedback_id,
        partner_id=feedback.owner,
        solution_id=feedback.solution_id,
        order_id=feedback.order_id or "",
        score=feedback.score,
        comment=feedback.comment,
        create_time=created,
    )


def kpi_row_message(row: KpiRow) -> feedback_pb2.KpiRow:
    message = feedback_pb2.KpiRow(
        entry_partner_id=row.entry_partner,
        recipe=row.recipe,
        solutions_offered=row.offered,
        solutions_booked=row.booked,
        take_up=row.take_up,
        responses=row.responses,
        promoters=row.promoters,
        passives=row.passives,
        detractors=row.detractors,
    )
    if row.nps is not None:  # unset, not 0, when nobody answered
        message.nps = row.nps
    return message
