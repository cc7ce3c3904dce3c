"""Where the gateway keeps its state: solutions (`SolutionStore`), orders with their
sagas (`OrderStore`) and customer feedback with the KPIs (`FeedbackStore`). The embedded
default is SQLite under the state dir; replicas share PostgreSQL. `open_store` picks one."""

from gateway.storage._factory import open_store
from gateway.storage._feedback import FeedbackRecord, FeedbackStore, KpiRow
from gateway.storage._interface import SolutionStore, StoredRequest
from gateway.storage._orders import (
    FINAL_STATES,
    ComponentRecord,
    ComponentState,
    Lease,
    LeaseLostError,
    NewEvent,
    OrderEvent,
    OrderRecord,
    OrderState,
    OrderStore,
    SagaStep,
    StoredOrderRequest,
)
from gateway.storage.postgres import PostgresStore
from gateway.storage.sqlite import SqliteStore

__all__ = [
    "FINAL_STATES",
    "ComponentRecord",
    "ComponentState",
    "FeedbackRecord",
    "FeedbackStore",
    "KpiRow",
    "Lease",
    "LeaseLostError",
    "NewEvent",
    "OrderEvent",
    "OrderRecord",
    "OrderState",
    "OrderStore",
    "PostgresStore",
    "SagaStep",
    "SolutionStore",
    "SqliteStore",
    "StoredOrderRequest",
    "StoredRequest",
    "open_store",
]
