"""Versioned schema migrations, applied in order on start. Never edit a released one.

Each backend has its own dialect of every migration; a version means the same schema in
both, so the two tuples always hold the same versions (a contract test checks it).
"""

from __future__ import annotations

from collections.abc import Iterator

SQLITE_MIGRATIONS: tuple[tuple[int, str], ...] = (
    (
        1,
        """
        CREATE TABLE solutions (
            solution_id TEXT PRIMARY KEY,
            owner TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            created_at TEXT NOT NULL,
            body BLOB NOT NULL
        );
        CREATE TABLE compose_requests (
            owner TEXT NOT NULL,
            request_id TEXT NOT NULL,
            request_hash TEXT NOT NULL,
            solution_id TEXT NOT NULL REFERENCES solutions (solution_id),
            created_at TEXT NOT NULL,
            PRIMARY KEY (owner, request_id)
        );
        """,
    ),
    (
        2,
        # Times are ISO 8601 UTC strings with microseconds, so text order is time order.
        """
        CREATE TABLE orders (
            order_id TEXT PRIMARY KEY,
            owner TEXT NOT NULL,
            solution_id TEXT NOT NULL,
            state TEXT NOT NULL,
            accept_partial INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            version INTEGER NOT NULL
        );
        CREATE INDEX orders_by_owner ON orders (owner, created_at, order_id);
        CREATE INDEX orders_unfinished ON orders (created_at, order_id)
            WHERE state NOT IN ('cancelled', 'compensated', 'confirmed', 'failed',
                                'needs_attention', 'partially_confirmed');
        CREATE TABLE order_components (
            order_id TEXT NOT NULL REFERENCES orders (order_id),
            kind TEXT NOT NULL,
            position INTEGER NOT NULL,
            partner_id TEXT NOT NULL,
            offer_id TEXT NOT NULL,
            currency_code TEXT NOT NULL,
            base TEXT NOT NULL,
            tax TEXT NOT NULL,
            state TEXT NOT NULL,
            hold_id TEXT,
            reference TEXT,
            detail TEXT NOT NULL,
            PRIMARY KEY (order_id, kind)
        );
        CREATE TABLE order_requests (
            owner TEXT NOT NULL,
            request_id TEXT NOT NULL,
            request_hash TEXT NOT NULL,
            order_id TEXT NOT NULL REFERENCES orders (order_id),
            created_at TEXT NOT NULL,
            PRIMARY KEY (owner, request_id)
        );
        CREATE TABLE order_events (
            order_id TEXT NOT NULL REFERENCES orders (order_id),
            seq INTEGER NOT NULL,
            type TEXT NOT NULL,
            payload TEXT NOT NULL,
            at TEXT NOT NULL,
            PRIMARY KEY (order_id, seq)
        );
        CREATE TABLE saga_steps (
            order_id TEXT NOT NULL REFERENCES orders (order_id),
            n INTEGER NOT NULL,
            component_kind TEXT NOT NULL,
            step TEXT NOT NULL,
            phase TEXT NOT NULL,
            idempotency_key TEXT NOT NULL,
            detail TEXT NOT NULL,
            at TEXT NOT NULL,
            PRIMARY KEY (order_id, n)
        );
        CREATE TABLE order_leases (
            order_id TEXT PRIMARY KEY REFERENCES orders (order_id),
            holder TEXT NOT NULL,
            token INTEGER NOT NULL,
            expires_at TEXT NOT NULL
        );
        """,
    ),
    (
        3,
        # Customer KPIs. Solutions stored before this version keep recipe '' (the recipe is
        # inside their body, which SQL cannot read); they report under an empty recipe.
        """
        ALTER TABLE solutions ADD COLUMN recipe TEXT NOT NULL DEFAULT '';
        CREATE INDEX solutions_by_owner_recipe ON solutions (owner, recipe);
        CREATE INDEX orders_by_solution ON orders (solution_id);
        CREATE TABLE feedback (
            feedback_id TEXT PRIMARY KEY,
            owner TEXT NOT NULL,
            request_id TEXT NOT NULL,
            request_hash TEXT NOT NULL,
            solution_id TEXT NOT NULL REFERENCES solutions (solution_id),
            order_id TEXT REFERENCES orders (order_id),
            score INTEGER NOT NULL CHECK (score BETWEEN 0 AND 10),
            comment TEXT NOT NULL,
            created_at TEXT NOT NULL,
            UNIQUE (owner, request_id)
        );
        CREATE INDEX feedback_by_solution ON feedback (solution_id);
        """,
    ),
)

POSTGRES_MIGRATIONS: tuple[tuple[int, str], ...] = (
    (
        1,
        """
        CREATE TABLE solutions (
            solution_id TEXT PRIMARY KEY,
            owner TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            created_at TIMESTAMPTZ NOT NULL,
            body BYTEA NOT NULL
        );
        CREATE TABLE compose_requests (
            owner TEXT NOT NULL,
            request_id TEXT NOT NULL,
            request_hash TEXT NOT NULL,
            solution_id TEXT NOT NULL REFERENCES solutions (solution_id),
            created_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (owner, request_id)
        );
        """,
    ),
    (
        2,
        """
        CREATE TABLE orders (
            order_id TEXT PRIMARY KEY,
            owner TEXT NOT NULL,
            solution_id TEXT NOT NULL,
            state TEXT NOT NULL,
            accept_partial BOOLEAN NOT NULL,
            created_at TIMESTAMPTZ NOT NULL,
            updated_at TIMESTAMPTZ NOT NULL,
            version INTEGER NOT NULL
        );
        CREATE INDEX orders_by_owner ON orders (owner, created_at, order_id);
        CREATE INDEX orders_unfinished ON orders (created_at, order_id)
            WHERE state NOT IN ('cancelled', 'compensated', 'confirmed', 'failed',
                                'needs_attention', 'partially_confirmed');
        CREATE TABLE order_components (
            order_id TEXT NOT NULL REFERENCES orders (order_id),
            kind TEXT NOT NULL,
            position INTEGER NOT NULL,
            partner_id TEXT NOT NULL,
            offer_id TEXT NOT NULL,
            currency_code TEXT NOT NULL,
            base TEXT NOT NULL,
            tax TEXT NOT NULL,
            state TEXT NOT NULL,
            hold_id TEXT,
            reference TEXT,
            detail TEXT NOT NULL,
            PRIMARY KEY (order_id, kind)
        );
        CREATE TABLE order_requests (
            owner TEXT NOT NULL,
            request_id TEXT NOT NULL,
            request_hash TEXT NOT NULL,
            order_id TEXT NOT NULL REFERENCES orders (order_id),
            created_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (owner, request_id)
        );
        CREATE TABLE order_events (
            order_id TEXT NOT NULL REFERENCES orders (order_id),
            seq INTEGER NOT NULL,
            type TEXT NOT NULL,
            payload JSONB NOT NULL,
            at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (order_id, seq)
        );
        CREATE TABLE saga_steps (
            order_id TEXT NOT NULL REFERENCES orders (order_id),
            n INTEGER NOT NULL,
            component_kind TEXT NOT NULL,
            step TEXT NOT NULL,
            phase TEXT NOT NULL,
            idempotency_key TEXT NOT NULL,
            detail TEXT NOT NULL,
            at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (order_id, n)
        );
        CREATE TABLE order_leases (
            order_id TEXT PRIMARY KEY REFERENCES orders (order_id),
            holder TEXT NOT NULL,
            token BIGINT NOT NULL,
            expires_at TIMESTAMPTZ NOT NULL
        );
        """,
    ),
    (
        3,
        """
        ALTER TABLE solutions ADD COLUMN recipe TEXT NOT NULL DEFAULT '';
        CREATE INDEX solutions_by_owner_recipe ON solutions (owner, recipe);
        CREATE INDEX orders_by_solution ON orders (solution_id);
        CREATE TABLE feedback (
            feedback_id TEXT PRIMARY KEY,
            owner TEXT NOT NULL,
            request_id TEXT NOT NULL,
            request_hash TEXT NOT NULL,
            solution_id TEXT NOT NULL REFERENCES solutions (solution_id),
            order_id TEXT REFERENCES orders (order_id),
            score SMALLINT NOT NULL CHECK (score BETWEEN 0 AND 10),
            comment TEXT NOT NULL,
            created_at TIMESTAMPTZ NOT NULL,
            UNIQUE (owner, request_id)
        );
        CREATE INDEX feedback_by_solution ON feedback (solution_id);
        """,
    ),
)


def statements(script: str) -> Iterator[str]:
    """The statements of a migration script, one at a time (no `;` inside a statement)."""
    return (s.strip() for s in script.split(";") if s.strip())
