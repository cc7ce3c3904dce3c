"""Where the gateway keeps its state: solutions (`SolutionStore`), orders with their
sagas (`OrderStore`), customer feedback with the KPIs (`FeedbackStore`), customers'
consents (`ConsentStore`) and the hash-chained audit log (`AuditStore`). The embedded
default is SQLite under the state dir; replicas share PostgreSQL. `open_store` picks one."""

from gateway.storage._audit import (
    GENESIS_HASH,
    AuditEntry,
    AuditRecord,
    AuditStore,
    canonical_json,
    entry_hash,
)
from gateway.storage._consents import ConsentRecord, ConsentStore
from gateway.storage._factory import SQLITE_FILE, open_store
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
    "GENESIS_HASH",
    "SQLITE_FILE",
    "AuditEntry",
    "AuditRecord",
    "AuditStore",
    "ComponentRecord",
    "ComponentState",
    "ConsentRecord",
    "ConsentStore",
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
    "canonical_json",
    "entry_hash",
    "open_store",
]
