"""The policy table starts with the national defaults and the published provincial variations;
rows operators changed are never overwritten. Rows still in the legacy terms (caps per hard-coded kinship
group, before issue 16) are upgraded once, as a versioned change published like any other."""

from __future__ import annotations

from typing import Any

import asyncpg

from services.relationship.domain.commands import SetPolicy
from services.relationship.handlers import set_policy
from shared.clock import BusinessClock
from shared.contracts.policy import LEGACY_GROUP_CAPS, SEED, upgrade_row
from shared.logging import get_logger
from shared.messaging.outbox import Outbox

log = get_logger(__name__)
UPGRADED_BY = "upgrade: kinship caps (issue 16)"


async def seed_policies(pool: asyncpg.Pool[Any]) -> None:
    async with pool.acquire() as conn:
        await conn.executemany(
            "INSERT INTO policies (admdvs, settings, updated_by) VALUES ($1, $2, 'seed') ON CONFLICT DO NOTHING",
            list(SEED.items()),
        )


async def upgrade_policies(pool: asyncpg.Pool[Any], outbox: Outbox, clock: BusinessClock) -> int:
    """Each row with the legacy group caps, rewritten in kinship caps (`upgrade_row`): a new version, and a
    `relationship.policy-changed` event so the wallet's copy and analytics follow. Returns how many."""
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(
            "SELECT admdvs, settings FROM policies WHERE settings ? $1 ORDER BY admdvs FOR UPDATE", LEGACY_GROUP_CAPS
        )
        for r in rows:
            upgraded = upgrade_row(r["admdvs"], dict(r["settings"]))
            assert upgraded is not None
            stored = await set_policy(SetPolicy(r["admdvs"], upgraded, UPGRADED_BY, replace=True), conn, outbox, clock)
            log.info("policy_upgraded", admdvs=r["admdvs"], before=dict(r["settings"]), after=stored)
    return len(rows)
