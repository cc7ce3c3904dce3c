"""Versioned schema migrations, applied in order on start. Never edit a released one."""

from __future__ import annotations

MIGRATIONS: tuple[tuple[int, str], ...] = (
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
)
