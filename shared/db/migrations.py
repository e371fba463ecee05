"""Forward-only SQL migrations, per service schema.

A service applies first the shared messaging migrations (inbox, outbox, tracking), then its own
`services/<name>/migrations/NNNN_description.sql`, each file once, in its own transaction,
recorded in `<schema>.schema_migrations`. An advisory lock keeps two starting replicas apart.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import asyncpg

from shared.logging import get_logger

SHARED_MIGRATIONS = Path(__file__).resolve().parent.parent / "messaging" / "migrations"
log = get_logger(__name__)


def migration_files(service_dir: Path | None) -> list[tuple[str, Path]]:
    files = [(f"shared/{p.name}", p) for p in sorted(SHARED_MIGRATIONS.glob("*.sql"))]
    if service_dir is not None and (service_dir / "migrations").is_dir():
        files += [(p.name, p) for p in sorted((service_dir / "migrations").glob("*.sql"))]
    return files


async def migrate(conn: asyncpg.Connection[Any], schema: str, service_dir: Path | None) -> list[str]:
    """Apply what is missing in `schema` (which must exist and be on the search_path). Returns what ran."""
    applied: list[str] = []
    lock_key = int.from_bytes(hashlib.sha256(f"migrate:{schema}".encode()).digest()[:8], "big", signed=True)
    await conn.execute("SELECT pg_advisory_lock($1)", lock_key)
    try:
        await conn.execute(
            f"""CREATE TABLE IF NOT EXISTS "{schema}".schema_migrations (
                   name text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        done = {
            r["name"]: r["checksum"]
            for r in await conn.fetch(f'SELECT name, checksum FROM "{schema}".schema_migrations')
        }
        for name, path in migration_files(service_dir):
            sql = path.read_text()
            checksum = hashlib.sha256(sql.encode()).hexdigest()
            if name in done:
                if done[name] != checksum:
                    raise RuntimeError(f"migration {name} changed after it was applied in {schema}: add a new one")
                continue
            async with conn.transaction():
                await conn.execute(f'SET LOCAL search_path TO "{schema}"')
                await conn.execute(sql)
                await conn.execute(
                    f'INSERT INTO "{schema}".schema_migrations (name, checksum) VALUES ($1, $2)', name, checksum
                )
            applied.append(name)
            log.info("migration_applied", schema=schema, migration=name)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", lock_key)
    return applied
