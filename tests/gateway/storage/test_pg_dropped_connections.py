"""A pooled PostgreSQL connection the server dropped is replaced, not handed out: a real
server, a backend really terminated under the pool's feet."""

from __future__ import annotations

import asyncio

import psycopg

from gateway.storage import PostgresStore


def _terminate(dsn: str, backend_pid: int) -> None:
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (backend_pid,))


async def test_the_store_replaces_connections_the_server_dropped(
    postgres_dsn: str, postgres_schema: str
) -> None:
    store = await PostgresStore.open(postgres_dsn, schema=postgres_schema, min_size=1, max_size=2)
    try:
        await store.save_solution("s-1", "telecom-cn", "fp", b"body", None)
        async with store._pool.connection() as conn:
            backend = conn.info.backend_pid
        await asyncio.to_thread(_terminate, postgres_dsn, backend)
        assert await store.load_solution("s-1") == b"body"
    finally:
        await store.aclose()
