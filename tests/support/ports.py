"""The PostgreSQL side of the port contract tests (tests/ports/): a migrated database per service and module,
and each test in a transaction that is rolled back, so every test starts from empty tables."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from shared.db.migrations import migrate
from shared.db.pool import Conn, connect
from tests.conftest import new_database
from tests.support.infra import Infra

SERVICES = Path(__file__).resolve().parents[2] / "services"


async def migrated_database(infra: Infra, service: str) -> str:
    """The DSN of a fresh database with `service`'s schema, as the service's own role."""
    settings = await new_database(infra, "ports")
    conn = await connect(settings.dsn(service))
    try:
        await migrate(conn, service, SERVICES / service)
    finally:
        await conn.close()
    return settings.dsn(service)


@asynccontextmanager
async def rolled_back(dsn: str) -> AsyncIterator[Conn]:
    """A connection inside a transaction that is rolled back at the end."""
    conn = await connect(dsn)
    tx = conn.transaction()
    await tx.start()
    try:
        yield conn
    finally:
        await tx.rollback()
        await conn.close()
