"""What one PostgreSQL session may cost the others: the bounds the shared store sets on every
pooled connection, so a replica that stalls inside a transaction (SIGSTOP, a long pause, a
network partition) holds its locks for seconds, not until TCP gives up."""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import sql


@dataclass(frozen=True)
class TransactionBounds:
    """How long one session may make the others wait, set on every pooled connection.

    The store's transactions are a few statements with nothing awaited in between but the
    database, so these are generous for them and short for a stalled peer."""

    statement_timeout_s: float = 10.0
    """`statement_timeout`: a statement running longer is cancelled."""
    lock_timeout_s: float = 2.0
    """`lock_timeout`: a statement waiting this long for a row lock gives up (a replica
    taking over a stalled one's saga tries again at its next recovery round)."""
    idle_in_transaction_timeout_s: float = 5.0
    """`idle_in_transaction_session_timeout`: a session idle this long inside a transaction
    is ended by the server, rolling the transaction back and releasing its locks."""

    def __post_init__(self) -> None:
        for name in ("statement_timeout_s", "lock_timeout_s", "idle_in_transaction_timeout_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive: 0 would mean no bound at all")

    def statements(self) -> sql.Composed:
        """The `SET`s, in milliseconds."""
        settings = (
            ("statement_timeout", self.statement_timeout_s),
            ("lock_timeout", self.lock_timeout_s),
            ("idle_in_transaction_session_timeout", self.idle_in_transaction_timeout_s),
        )
        return sql.SQL("; ").join(
            sql.SQL("SET {} = {}").format(
                sql.Identifier(name), sql.Literal(max(1, round(s * 1000)))
            )
            for name, s in settings
        )


DEFAULT_BOUNDS = TransactionBounds()
