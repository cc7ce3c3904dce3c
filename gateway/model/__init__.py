"""The gateway's domain values: orders and their saga states, consents, feedback with its
KPIs, audit records, and the request ids already used (AIP-155). Plain dataclasses and enums
that the booking saga, privacy, audit, feedback and composition pass around and the stores
(`gateway.storage`) keep. The bottom layer: it imports nothing else of the gateway (an
import-linter contract in pyproject.toml)."""

from gateway.model.audit import AuditBacklog, AuditCheckpoint, AuditEntry, AuditRecord
from gateway.model.consents import ConsentRecord
from gateway.model.feedback import (
    BOOKED_EVENTS,
    PASSIVE_MIN,
    PROMOTER_MIN,
    FeedbackRecord,
    KpiRow,
)
from gateway.model.orders import (
    FINAL_STATES,
    ComponentRecord,
    ComponentState,
    HoldOutcome,
    Lease,
    NewEvent,
    OrderEvent,
    OrderRecord,
    OrderState,
    SagaStep,
    StepKind,
    StepPhase,
)
from gateway.model.requests import StoredOrderRequest, StoredRequest

__all__ = [
    "BOOKED_EVENTS",
    "FINAL_STATES",
    "PASSIVE_MIN",
    "PROMOTER_MIN",
    "AuditBacklog",
    "AuditCheckpoint",
    "AuditEntry",
    "AuditRecord",
    "ComponentRecord",
    "ComponentState",
    "ConsentRecord",
    "FeedbackRecord",
    "HoldOutcome",
    "KpiRow",
    "Lease",
    "NewEvent",
    "OrderEvent",
    "OrderRecord",
    "OrderState",
    "SagaStep",
    "StepKind",
    "StepPhase",
    "StoredOrderRequest",
    "StoredRequest",
]
