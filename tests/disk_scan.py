"""Reading what a store left on disk, byte by byte, as someone with the disk (a backup, a
stolen volume, a root shell on the database host) would: the SQLite file with its `-wal`
and `-shm`, and PostgreSQL's data files of a schema's relations plus the WAL segments
written meanwhile. Tests look for personal values there after the store erased them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import psycopg


def leftovers(files: Iterable[Path], values: Iterable[str]) -> dict[str, list[str]]:
    """Which of `values` appear (UTF-8) in which of `files`: value → file names."""
    found: dict[str, list[str]] = {}
    wanted = {value: value.encode() for value in values}
    for path in files:
        if not path.is_file():
            continue
        data = path.read_bytes()
        for value, raw in wanted.items():
            if raw in data:
                found.setdefault(value, []).append(path.name)
    return found


def sqlite_files(database: Path) -> list[Path]:
    return [database.with_name(database.name + suffix) for suffix in ("", "-wal", "-shm")]


@dataclass(frozen=True)
class PostgresDisk:
    """Where a PostgreSQL server keeps its bytes; readable when the tests run as root (or as
    the server's user) on the database host, as here."""

    dsn: str
    data_directory: Path

    @classmethod
    def of(cls, dsn: str) -> PostgresDisk:
        with psycopg.connect(dsn, autocommit=True) as conn:
            row = conn.execute("SHOW data_directory").fetchone()
        assert row is not None
        return cls(dsn, Path(row[0]))

    def readable(self) -> bool:
        try:
            return (self.data_directory / "PG_VERSION").is_file()
        except PermissionError:
            return False

    def wal_position(self) -> str:
        """The WAL segment being written now."""
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            row = conn.execute("SELECT pg_walfile_name(pg_current_wal_lsn())").fetchone()
        assert row is not None
        return str(row[0])

    def schema_files(self, schema: str) -> list[Path]:
        """After a CHECKPOINT (dirty pages on disk): every file of every relation of `schema`
        (tables, their TOAST tables, indexes; all segments and forks), and the WAL."""
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute("CHECKPOINT")
            rows = conn.execute(
                """
                SELECT pg_relation_filepath(c.oid) FROM pg_class c
                JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = %(schema)s AND c.relkind IN ('r', 'i', 'm', 't')
                UNION
                SELECT pg_relation_filepath(t.oid) FROM pg_class c
                JOIN pg_namespace n ON n.oid = c.relnamespace
                JOIN pg_class t ON t.oid = c.reltoastrelid
                WHERE n.nspname = %(schema)s
                UNION
                SELECT pg_relation_filepath(i.indexrelid) FROM pg_class c
                JOIN pg_namespace n ON n.oid = c.relnamespace
                JOIN pg_index i ON i.indrelid = c.reltoastrelid
                WHERE n.nspname = %(schema)s
                """,
                {"schema": schema},
            ).fetchall()
        files: list[Path] = []
        for (relative,) in rows:
            if relative is None:
                continue
            base = self.data_directory / relative
            files.append(base)
            files += sorted(base.parent.glob(base.name + ".*"))  # segments past 1 GB
            files += sorted(base.parent.glob(base.name + "_*"))  # forks: _fsm, _vm
        return files

    def wal_files(self, since: str) -> list[Path]:
        """The WAL segments from `since` (a `wal_position`) to the current one."""
        now = self.wal_position()
        return [
            path
            for path in sorted((self.data_directory / "pg_wal").iterdir())
            if len(path.name) == 24 and since <= path.name <= now
        ]
