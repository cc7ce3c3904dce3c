"""Customer feedback and the customer KPIs (NPS, offer take-up): the FeedbackService."""

from gateway.feedback.service import FeedbackService, FeedbackServiceStore

__all__ = ["FeedbackService", "FeedbackServiceStore"]
