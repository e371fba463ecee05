"""SQL for the regional policies' rows (the `Policies` port; the relationship service owns them:
shared/contracts/policy.py)."""

from __future__ import annotations

from typing import Any

import asyncpg

from shared.contracts.policy import SEED
from shared.db.pool import Conn


async def seed_policies(pool: asyncpg.Pool[Any]) -> None:
    """The table starts with the national defaults and the published provincial variations; rows operators
    changed are never overwritten."""
    async with pool.acquire() as conn:
        await conn.executemany(
            "INSERT INTO policies (admdvs, settings, updated_by) VALUES ($1, $2, 'seed') ON CONFLICT DO NOTHING",
            list(SEED.items()),
        )


class PolicyRepository:
    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def rows(self, *admdvs: str) -> dict[str, dict[str, Any]]:
        levels = {"000000"} | {a[:2] + "0000" for a in admdvs} | set(admdvs)
        rows = await self.conn.fetch(
            "SELECT admdvs, settings FROM policies WHERE admdvs = ANY($1::text[])", sorted(levels)
        )
        return {r["admdvs"]: dict(r["settings"]) for r in rows}

    async def for_update(self, admdvs: str, created_by: str) -> tuple[dict[str, Any], int]:
        await self.conn.execute(
            """INSERT INTO policies (admdvs, settings, version, updated_by) VALUES ($1, '{}'::jsonb, 0, $2)
               ON CONFLICT (admdvs) DO NOTHING""",
            admdvs,
            created_by,
        )
        row = await self.conn.fetchrow("SELECT settings, version FROM policies WHERE admdvs = $1 FOR UPDATE", admdvs)
        assert row is not None
        return dict(row["settings"]), int(row["version"])

    async def save(self, admdvs: str, settings: dict[str, Any], version: int, changed_by: str) -> None:
        await self.conn.execute(
            "UPDATE policies SET settings = $2, version = $3, updated_at = now(), updated_by = $4 WHERE admdvs = $1",
            admdvs,
            settings,
            version,
            changed_by,
        )

    async def all_for_update(self) -> dict[str, dict[str, Any]]:
        rows = await self.conn.fetch("SELECT admdvs, settings FROM policies ORDER BY admdvs FOR UPDATE")
        return {r["admdvs"]: dict(r["settings"]) for r in rows}

    async def listing(self) -> dict[str, tuple[dict[str, Any], int, str]]:
        """Every row with its version and who changed it last, in region order (for operators)."""
        rows = await self.conn.fetch("SELECT admdvs, settings, version, updated_by FROM policies ORDER BY admdvs")
        return {r["admdvs"]: (dict(r["settings"]), int(r["version"]), r["updated_by"]) for r in rows}
