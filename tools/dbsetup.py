"""Create the platform's database, its per-service roles and schemas: `python -m tools.dbsetup --admin-dsn DSN`.

Runs deploy/postgres/bootstrap.sql, the same file deploy/local/postgres.sh runs, with each role's own password
from the PostgreSQL secrets file (MEDAID_PG_SECRETS_FILE). `python -m tools.dbsetup secrets` only makes the
missing passwords of that file (what `make up` does before PostgreSQL starts). Used by the tests against
servers they did not start, and by docker-compose's one-shot `setup` service.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sys
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from shared.settings import DATABASE_ROLES, PlatformSettings, pg_secrets_path
from tools.acls import write_secret_file

BOOTSTRAP_SQL = Path(__file__).resolve().parent.parent / "deploy" / "postgres" / "bootstrap.sql"


def with_database(dsn: str, database: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))


def ensure_pg_secrets(path: Path, services: tuple[str, ...] = DATABASE_ROLES) -> dict[str, str]:
    """The PostgreSQL secrets file with a password of its own for each service role (missing ones made)."""
    existing: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    missing = [s for s in services if s not in existing]
    if missing:
        existing = {**existing, **{s: secrets.token_urlsafe(24) for s in missing}}
        write_secret_file(path, existing)
    return existing


async def setup_database(
    admin_dsn: str, database: str, passwords: Mapping[str, str], services: tuple[str, ...] = DATABASE_ROLES
) -> None:
    """Idempotent: creates the database when missing, then roles (each with its own password) and schemas."""
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
            "SELECT set_config('medaid.services', $1, false), set_config('medaid.passwords', $2, false)",
            ",".join(services),
            json.dumps({s: passwords[s] for s in services}),
        )
        await conn.execute(BOOTSTRAP_SQL.read_text())
    finally:
        await conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", nargs="?", choices=["setup", "secrets"], default="setup")
    parser.add_argument("--admin-dsn", default=os.environ.get("MEDAID_PG_ADMIN_DSN"), required=False)
    parser.add_argument("--database", default=os.environ.get("MEDAID_PG_DATABASE", "medaid"))
    args = parser.parse_args()
    passwords = ensure_pg_secrets(pg_secrets_path(PlatformSettings()))
    if args.command == "secrets":
        return 0
    if not args.admin_dsn:
        parser.error("--admin-dsn or MEDAID_PG_ADMIN_DSN is required")
    asyncio.run(setup_database(args.admin_dsn, args.database, passwords))
    print(f"database {args.database}: roles and schemas for {', '.join(DATABASE_ROLES)} ready", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
