"""The FeedbackService RPCs: record a customer's score (AIP-155 idempotent), report the KPIs."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any, Protocol

import grpc

from gateway.access import not_found
from gateway.callers import caller_partner_id
from gateway.errors import InvalidRequestError, RequestIdReusedError
from gateway.feedback.render import feedback_message, kpi_row_message
from gateway.model import FeedbackRecord
from gateway.storage import AuditStore, FeedbackStore, OrderStore, SolutionStore
from gateway.telemetry import Telemetry
from gateway.validation import Violations
from partnergateway.v1 import feedback_service_pb2, feedback_service_pb2_grpc, solution_pb2

Ctx = grpc.aio.ServicerContext[Any, Any]
MIN_SCORE, MAX_SCORE = 0, 10
MAX_COMMENT_LENGTH = 2000
MAX_RECIPE_LENGTH = 200
SUBMIT = "rpc:FeedbackService/SubmitFeedback"


class FeedbackServiceStore(FeedbackStore, SolutionStore, OrderStore, AuditStore, Protocol):
    """Feedback, the solutions and orders it is about (to check who owns them), the audit."""


class FeedbackService(feedback_service_pb2_grpc.FeedbackServiceServicer):
    def __init__(self, store: FeedbackServiceStore, telemetry: Telemetry | None = None) -> None:
        self._store = store
        self._metrics = (telemetry or Telemetry()).metrics

    async def SubmitFeedback(
        self, request: feedback_service_pb2.SubmitFeedbackRequest, context: Ctx
    ) -> feedback_service_pb2.SubmitFeedbackResponse:
        request.partner_id = caller_partner_id(request.partner_id)
        _validate(request)
        solution_id, order_id = await self._subject(request)
        request_hash = _hash(request)
        stored, created = await self._store.save_feedback(
            FeedbackRecord(
                feedback_id=f"fb_{uuid.uuid4().hex}",
                owner=request.partner_id,
                solution_id=solution_id,
                order_id=order_id,
                score=request.score,
                comment=request.comment,
                request_id=request.request_id,
                request_hash=request_hash,
                created_at=datetime.now(UTC),
            )
        )
        if not created and stored.request_hash != request_hash:
            raise RequestIdReusedError(
                f"request_id {request.request_id!r} was used before with other content"
            )
        if created:
            await self._count(stored.solution_id, stored.score)
        return feedback_service_pb2.SubmitFeedbackResponse(feedback=feedback_message(stored))

    async def GetKpiReport(
        self, request: feedback_service_pb2.GetKpiReportRequest, context: Ctx
    ) -> feedback_service_pb2.GetKpiReportResponse:
        # An authenticated partner sees its own KPIs only, never a competitor's.
        request.partner_id = caller_partner_id(request.partner_id)
        v = Violations()
        if request.partner_id:
            v.partner_id("partner_id", request.partner_id)
        v.text("recipe", request.recipe, required=False, limit=MAX_RECIPE_LENGTH)
        if v:
            raise InvalidRequestError(v.items)
        rows = await self._store.kpi_rows(request.partner_id or None, request.recipe or None)
        return feedback_service_pb2.GetKpiReportResponse(rows=[kpi_row_message(r) for r in rows])

    async def _count(self, solution_id: str, score: int) -> None:
        """NPS as a metric: responses by category, per entry partner and recipe."""
        body = await self._store.load_solution(solution_id)
        if body is None:
            return
        solution = solution_pb2.Solution.FromString(body)
        category = "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"
        self._metrics.feedback_responses.add(
            1,
            {
                "entry.partner": solution.entry.partner_id,
                "recipe": solution.recipe.split("@")[0],
                "category": category,
            },
        )

    async def _subject(
        self, request: feedback_service_pb2.SubmitFeedbackRequest
    ) -> tuple[str, str | None]:
        """(solution id, order id or None) if the caller owns the subject; else NOT_FOUND,
        alike for missing and foreign ones."""
        if request.WhichOneof("subject") == "order_id":
            order = await self._store.get_order(request.order_id)
            if order is None or order.owner != request.partner_id:
                await not_found(
                    self._store, SUBMIT, "order", request.order_id, exists=order is not None
                )
            return order.solution_id, order.order_id
        body = await self._store.load_solution(request.solution_id)
        solution = solution_pb2.Solution.FromString(body) if body else None
        if solution is None or solution.entry.partner_id != request.partner_id:
            await not_found(
                self._store, SUBMIT, "solution", request.solution_id, exists=solution is not None
            )
        return request.solution_id, None


def _validate(request: feedback_service_pb2.SubmitFeedbackRequest) -> None:
    v = Violations()
    v.request_id("request_id", request.request_id)
    if not request.request_id:
        v.add("request_id", "is required: it keeps a retried submission from counting twice")
    v.partner_id("partner_id", request.partner_id)
    subject = request.WhichOneof("subject")
    if subject is None:
        v.add("solution_id", "is required, or order_id")
    elif not getattr(request, subject):
        v.add(subject, "is required")
    if not request.HasField("score"):
        v.add("score", f"is required: {MIN_SCORE} to {MAX_SCORE}")
    elif not MIN_SCORE <= request.score <= MAX_SCORE:
        v.add("score", f"{request.score} is not between {MIN_SCORE} and {MAX_SCORE}")
    v.text("comment", request.comment, required=False, limit=MAX_COMMENT_LENGTH)
    if v:
        raise InvalidRequestError(v.items)


def _hash(request: feedback_service_pb2.SubmitFeedbackRequest) -> str:
    canonical = feedback_service_pb2.SubmitFeedbackRequest()
    canonical.CopyFrom(request)
    canonical.ClearField("request_id")
    return hashlib.sha256(canonical.SerializeToString(deterministic=True)).hexdigest()
