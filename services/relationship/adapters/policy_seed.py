"""The policy table starts with the national defaults and the published provincial variations;
rows operators changed are never overwritten."""

from __future__ import annotations

from typing import Any

import asyncpg

from shared.contracts.policy import SEED


async def seed_policies(pool: asyncpg.Pool[Any]) -> None:
    async with pool.acquire() as conn:
        await conn.executemany(
            "INSERT INTO policies (admdvs, settings, updated_by) VALUES ($1, $2, 'seed') ON CONFLICT DO NOTHING",
            list(SEED.items()),
        )
