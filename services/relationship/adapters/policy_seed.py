"""The policy table starts with the national defaults and the published provincial variations;
rows operators changed are never overwritten. Rows still in the legacy terms (caps per hard-coded kinship
group, before issue 16) are upgraded once, as a versioned change published like any other."""

from __future__ import annotations

from typing import Any

import asyncpg

from services.relationship.domain.commands import SetPolicy
from services.relationship.handlers import set_policy
from shared.clock import BusinessClock
from shared.contracts.policy import LEGACY_GROUP_CAPS, SEED, legacy_bans, upgrade_row
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
        table = {
            r["admdvs"]: dict(r["settings"])
            for r in await conn.fetch("SELECT admdvs, settings FROM policies ORDER BY admdvs FOR UPDATE")
        }  # as it stands before any row is upgraded: each row is upgraded against the legacy rows above it
        legacy = [admdvs for admdvs, settings in table.items() if LEGACY_GROUP_CAPS in settings]
        for admdvs in legacy:
            upgraded = upgrade_row(admdvs, table[admdvs], table) or {}
            stored = await set_policy(SetPolicy(admdvs, upgraded, UPGRADED_BY, replace=True), conn, outbox, clock)
            if bans := legacy_bans(table[admdvs]):
                log.warning("policy_upgrade_dropped_a_ban", admdvs=admdvs, groups=bans, hint="set kinship_caps anew")
            log.info("policy_upgraded", admdvs=admdvs, before=table[admdvs], after=stored)
    return len(legacy)
