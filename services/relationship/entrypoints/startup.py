"""What the relationship service does once at start, before any consumer runs: names stored in clear before
migration 0004 are hashed, the policy table is seeded, and legacy policy rows are upgraded (their events go
out through the outbox like any other)."""

from __future__ import annotations

from typing import Any

import asyncpg

from services.relationship.adapters.policy_repository import seed_policies
from services.relationship.domain.commands import UpgradePolicies
from services.relationship.entrypoints.unit_of_work import postgres_context
from services.relationship.service_layer.upgrade_policies import upgrade_policies as upgrade
from shared.caller import Caller
from shared.clock import BusinessClock
from shared.logging import get_logger
from shared.messaging.outbox import Outbox

log = get_logger(__name__)

__all__ = ["seed_policies", "upgrade_policies"]


async def upgrade_policies(pool: asyncpg.Pool[Any], outbox: Outbox, clock: BusinessClock) -> int:
    """Each row with the legacy group caps, rewritten in kinship caps, in one transaction. Returns how many."""
    async with pool.acquire() as conn, conn.transaction():
        upgraded, messages = await upgrade(UpgradePolicies(), postgres_context(conn, Caller(clock)))
        await outbox.enqueue(conn, messages)
    for row in upgraded:
        if row.dropped_bans:
            log.warning("policy_upgrade_dropped_a_ban", admdvs=row.admdvs, groups=row.dropped_bans,
                        hint="set kinship_caps anew")  # fmt: skip
        log.info("policy_upgraded", admdvs=row.admdvs, before=row.before, after=row.after)
    return len(upgraded)
