"""Where the gateway keeps its state: solutions (`SolutionStore`), orders with their
sagas (`OrderStore`), customer feedback with the KPIs (`FeedbackStore`), customers'
consents (`ConsentStore`) and the hash-chained audit log (`AuditStore`). The embedded
default is SQLite under the state dir; replicas share PostgreSQL. `open_store` picks one."""

from gateway.storage._audit import (
    GENESIS_HASH,
    AuditBacklog,
    AuditCheckpoint,
    AuditEntry,
    AuditRecord,
    AuditStore,
    canonical_json,
    entry_hash,
)
from gateway.storage._bounds import TransactionBounds
from gateway.storage._cipher import (
    DataCipher,
    DataKeyError,
    cipher_from_document,
    load_data_cipher,
)
from gateway.storage._consents import ConsentRecord, ConsentStore
from gateway.storage._factory import DATA_KEY_FILE, SQLITE_FILE, open_store
from gateway.storage._feedback import FeedbackRecord, FeedbackStore, KpiRow
from gateway.storage._interface import SolutionStore, StoredRequest
from gateway.storage._orders import (
    FINAL_STATES,
    ComponentRecord,
    ComponentState,
    HoldOutcome,
    Lease,
    LeaseLostError,
    NewEvent,
    OrderEvent,
    OrderRecord,
    OrderState,
    OrderStore,
    SagaStep,
    StepKind,
    StepPhase,
    StoredOrderRequest,
)
from gateway.storage.postgres import PostgresStore
from gateway.storage.sqlite import SqliteStore

__all__ = [
    "DATA_KEY_FILE",
    "FINAL_STATES",
    "GENESIS_HASH",
    "SQLITE_FILE",
    "AuditBacklog",
    "AuditCheckpoint",
    "AuditEntry",
    "AuditRecord",
    "AuditStore",
    "ComponentRecord",
    "ComponentState",
    "ConsentRecord",
    "ConsentStore",
    "DataCipher",
    "DataKeyError",
    "FeedbackRecord",
    "FeedbackStore",
    "HoldOutcome",
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
    "StepKind",
    "StepPhase",
    "StoredOrderRequest",
    "StoredRequest",
    "TransactionBounds",
    "canonical_json",
    "cipher_from_document",
    "entry_hash",
    "load_data_cipher",
    "open_store",
]
