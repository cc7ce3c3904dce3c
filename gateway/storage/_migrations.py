"""Versioned schema migrations, applied in order on start. Never edit a released one.

Each backend has its own dialect of every migration; a version means the same schema in
both, so the two tuples always hold the same versions (a contract test checks it).
"""

from __future__ import annotations

import re
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
    (
        4,
        # Consents and the audit log (docs/security.md). Lists are JSON text, as in PostgreSQL.
        # The audit log is append-only: the triggers refuse to change or remove an entry.
        """
        ALTER TABLE orders ADD COLUMN consent_id TEXT NOT NULL DEFAULT '';
        ALTER TABLE order_components ADD COLUMN disclosure TEXT;
        CREATE TABLE consents (
            consent_id TEXT PRIMARY KEY,
            owner TEXT NOT NULL,
            purpose TEXT NOT NULL,
            partner_ids TEXT NOT NULL,
            partner_kinds TEXT NOT NULL,
            given_at TEXT NOT NULL,
            notice_version TEXT NOT NULL,
            created_at TEXT NOT NULL,
            withdrawn_at TEXT
        );
        CREATE TABLE audit_log (
            seq INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            subject TEXT NOT NULL,
            outcome TEXT NOT NULL,
            purpose TEXT NOT NULL,
            consent_id TEXT NOT NULL,
            recipient TEXT NOT NULL,
            fields TEXT NOT NULL,
            values_hash TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL
        );
        CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
            BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
        CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
            BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
        """,
    ),
    (
        5,
        # Saga state as columns (gateway.model.HoldOutcome, cancel_requested), read from
        # the text the saga used to write into `detail` for the rows made before.
        """
        ALTER TABLE order_components ADD COLUMN hold_outcome TEXT NOT NULL DEFAULT 'none';
        ALTER TABLE order_components ADD COLUMN cancel_requested INTEGER NOT NULL DEFAULT 0;
        UPDATE order_components SET hold_outcome = 'held' WHERE hold_id IS NOT NULL;
        UPDATE order_components SET hold_outcome = 'unknown' WHERE hold_id IS NULL
            AND ((state = 'hold_failed' AND detail LIKE 'unknown:%')
                 OR (state = 'needs_attention' AND detail LIKE 'hold unknown:%'));
        UPDATE order_components SET hold_outcome = 'not_sent' WHERE hold_id IS NULL
            AND state = 'hold_failed' AND detail LIKE 'refused: the customer''s consent%';
        UPDATE order_components SET hold_outcome = 'refused' WHERE hold_id IS NULL
            AND state = 'hold_failed' AND hold_outcome = 'none';
        UPDATE order_components SET cancel_requested = 1
            WHERE detail = 'cancellation requested';
        """,
    ),
    (
        6,
        # Checkpoints of the audit chain's head (gateway.audit), append-only like the log.
        # SQLite chains each entry as it writes it (one writer at a time), so it needs no
        # table of records waiting to be chained, unlike PostgreSQL.
        """
        CREATE TABLE audit_checkpoints (
            seq INTEGER PRIMARY KEY,
            hash TEXT NOT NULL,
            at TEXT NOT NULL,
            jws TEXT NOT NULL
        );
        CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
            BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END;
        CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
            BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END;
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
    (
        4,
        # The trigger function lands in the store's schema (first on the search path), so
        # every schema's audit log has its own.
        """
        ALTER TABLE orders ADD COLUMN consent_id TEXT NOT NULL DEFAULT '';
        ALTER TABLE order_components ADD COLUMN disclosure TEXT;
        CREATE TABLE consents (
            consent_id TEXT PRIMARY KEY,
            owner TEXT NOT NULL,
            purpose TEXT NOT NULL,
            partner_ids TEXT NOT NULL,
            partner_kinds TEXT NOT NULL,
            given_at TIMESTAMPTZ NOT NULL,
            notice_version TEXT NOT NULL,
            created_at TIMESTAMPTZ NOT NULL,
            withdrawn_at TIMESTAMPTZ
        );
        CREATE TABLE audit_log (
            seq BIGINT PRIMARY KEY,
            at TIMESTAMPTZ NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            subject TEXT NOT NULL,
            outcome TEXT NOT NULL,
            purpose TEXT NOT NULL,
            consent_id TEXT NOT NULL,
            recipient TEXT NOT NULL,
            fields TEXT NOT NULL,
            values_hash TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL
        );
        CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql
            AS $$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$;
        CREATE TRIGGER audit_log_append_only
            BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
            FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
        """,
    ),
    (
        5,
        """
        ALTER TABLE order_components ADD COLUMN hold_outcome TEXT NOT NULL DEFAULT 'none';
        ALTER TABLE order_components ADD COLUMN cancel_requested BOOLEAN NOT NULL DEFAULT false;
        UPDATE order_components SET hold_outcome = 'held' WHERE hold_id IS NOT NULL;
        UPDATE order_components SET hold_outcome = 'unknown' WHERE hold_id IS NULL
            AND ((state = 'hold_failed' AND detail LIKE 'unknown:%')
                 OR (state = 'needs_attention' AND detail LIKE 'hold unknown:%'));
        UPDATE order_components SET hold_outcome = 'not_sent' WHERE hold_id IS NULL
            AND state = 'hold_failed' AND detail LIKE 'refused: the customer''s consent%';
        UPDATE order_components SET hold_outcome = 'refused' WHERE hold_id IS NULL
            AND state = 'hold_failed' AND hold_outcome = 'none';
        UPDATE order_components SET cancel_requested = true
            WHERE detail = 'cancellation requested';
        """,
    ),
    (
        6,
        # Audited writes insert into `audit_pending` without any lock; one replica at a time
        # moves committed records into the chain (`audit_log`). Checkpoints of the chain's
        # head (gateway.audit) are append-only like the log.
        """
        CREATE TABLE audit_pending (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            at TIMESTAMPTZ NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            subject TEXT NOT NULL,
            outcome TEXT NOT NULL,
            purpose TEXT NOT NULL,
            consent_id TEXT NOT NULL,
            recipient TEXT NOT NULL,
            fields TEXT NOT NULL,
            values_hash TEXT NOT NULL
        );
        CREATE TABLE audit_checkpoints (
            seq BIGINT PRIMARY KEY,
            hash TEXT NOT NULL,
            at TIMESTAMPTZ NOT NULL,
            jws TEXT NOT NULL
        );
        CREATE FUNCTION audit_checkpoints_append_only() RETURNS trigger LANGUAGE plpgsql
            AS $$ BEGIN RAISE EXCEPTION 'audit_checkpoints is append-only'; END $$;
        CREATE TRIGGER audit_checkpoints_append_only
            BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_checkpoints
            FOR EACH STATEMENT EXECUTE FUNCTION audit_checkpoints_append_only();
        """,
    ),
)


# A `;` ending a line ends a statement; one inside a line is part of it (a trigger's body).
_STATEMENT_END = re.compile(r";[ \t]*$", re.MULTILINE)


def statements(script: str) -> Iterator[str]:
    """The statements of a migration script, one at a time. Each ends with a `;` at the end
    of its line; write a body with `;` inside (trigger, function) with those mid-line."""
    return (s.strip() for s in _STATEMENT_END.split(script) if s.strip())
