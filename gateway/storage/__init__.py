"""Where the gateway keeps its state: solutions (`SolutionStore`), orders with their
sagas (`OrderStore`), customer feedback with the KPIs (`FeedbackStore`), customers'
consents (`ConsentStore`) and the hash-chained audit log (`AuditStore`). The embedded
default is SQLite under the state dir; replicas share PostgreSQL. `open_store` picks one.
The values kept (orders, consents, feedback, audit records) are `gateway.model`'s."""

from gateway.storage._audit import (
    GENESIS_HASH,
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
from gateway.storage._consents import ConsentStore
from gateway.storage._factory import DATA_KEY_FILE, SQLITE_FILE, open_store
from gateway.storage._feedback import FeedbackStore
from gateway.storage._interface import SolutionStore
from gateway.storage._orders import LeaseLostError, OrderStore
from gateway.storage.postgres import PostgresStore
from gateway.storage.sqlite import SqliteStore

__all__ = [
    "DATA_KEY_FILE",
    "GENESIS_HASH",
    "SQLITE_FILE",
    "AuditStore",
    "ConsentStore",
    "DataCipher",
    "DataKeyError",
    "FeedbackStore",
    "LeaseLostError",
    "OrderStore",
    "PostgresStore",
    "SolutionStore",
    "SqliteStore",
    "TransactionBounds",
    "canonical_json",
    "cipher_from_document",
    "entry_hash",
    "load_data_cipher",
    "open_store",
]
