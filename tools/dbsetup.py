"""Create the platform's database, its per-service roles and schemas: `python -m tools.dbsetup --admin-dsn DSN`.

Runs deploy/postgres/bootstrap.sql, the same file deploy/local/postgres.sh runs. Used by the
tests against servers they did not start, and by docker-compose's one-shot `db-setup` service.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from shared.settings import SERVICES

BOOTSTRAP_SQL = Path(__file__).resolve().parent.parent / "deploy" / "postgres" / "bootstrap.sql"


def with_database(dsn: str, database: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))


async def setup_database(admin_dsn: str, database: str, password: str, services: tuple[str, ...] = SERVICES) -> None:
    """Idempotent: creates the database when missing, then roles and schemas."""
    conn = await asyncpg.connect(admin_dsn)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database):
            await conn.execute(f'CREATE DATABASE "{database}"')
    finally:
        await conn.close()
    conn = await asyncpg.connect(with_database(admin_dsn, database))
    try:
        await conn.execute("SET client_min_messages = warning")
        await conn.execute(
            "SELECT set_config('medaid.services', $1, false), set_config('medaid.password', $2, false)",
            ",".join(services),
            password,
        )
        await conn.execute(BOOTSTRAP_SQL.read_text())
    finally:
        await conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--admin-dsn", default=os.environ.get("MEDAID_PG_ADMIN_DSN"), required=False)
    parser.add_argument("--database", default=os.environ.get("MEDAID_PG_DATABASE", "medaid"))
    args = parser.parse_args()
    if not args.admin_dsn:
        parser.error("--admin-dsn or MEDAID_PG_ADMIN_DSN is required")
    password = os.environ.get("MEDAID_PG_PASSWORD", "medaid-local")
    asyncio.run(setup_database(args.admin_dsn, args.database, password))
    print(f"database {args.database}: roles and schemas for {', '.join(SERVICES)} ready", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
