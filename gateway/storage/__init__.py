"""Where the gateway keeps its state. The embedded default is SQLite under the state dir."""

from gateway.storage._interface import SolutionStore, StoredRequest
from gateway.storage.sqlite import SqliteStore

__all__ = ["SolutionStore", "SqliteStore", "StoredRequest"]
