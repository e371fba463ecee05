"""Who a request comes from, and logging out (ADR 0024): the session is looked up on every request, with its
operator's current role, so a logout, a disabled operator or a new role takes effect at the next request."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from services.console.adapters.repository import ConsoleRepository
from services.console.domain.access import Who, who_is
from services.console.service_layer.log_in import token_hash


async def who(pool: asyncpg.Pool[Any], token: str | None, now: datetime) -> Who | None:
    if not token:
        return None
    async with pool.acquire() as conn:
        return who_is(await ConsoleRepository(conn).session(token_hash(token)), now)


async def log_out(pool: asyncpg.Pool[Any], token: str, operator: str, address: str) -> None:
    """The session ends for whoever holds its cookie, not only in this browser."""
    async with pool.acquire() as conn:
        repo = ConsoleRepository(conn)
        await repo.revoke_session(token_hash(token))
        await repo.audit(operator, "logout", "console", "ok", {"address": address})


async def forget(pool: asyncpg.Pool[Any], token: str) -> None:
    """A browser logging in again: the session its cookie held ends (a copy of that cookie is worth nothing)."""
    async with pool.acquire() as conn:
        await ConsoleRepository(conn).revoke_session(token_hash(token))
