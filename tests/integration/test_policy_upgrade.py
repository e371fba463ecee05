"""A policy table seeded before issue 16 (caps per hard-coded kinship group) is upgraded once at start-up: a new
version of each such row in kinship caps, published as relationship.policy-changed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from services.relationship.entrypoints.startup import seed_policies, upgrade_policies
from services.relationship.service_layer.upgrade_policies import UPGRADED_BY
from shared.clock import BusinessClock
from shared.contracts.policy import LEGACY_GROUPS, LEGACY_TIANJIN_SEED, TIANJIN_CAP
from shared.db.migrations import migrate
from shared.db.pool import connect, create_pool
from shared.messaging.outbox import Outbox
from shared.settings import PlatformSettings

pytestmark = pytest.mark.integration

RELATIONSHIP_DIR = Path(__file__).resolve().parents[2] / "services" / "relationship"


async def test_legacy_rows_are_upgraded_once_versioned_and_published(settings: PlatformSettings) -> None:
    conn = await connect(settings.dsn("relationship"))
    try:
        await migrate(conn, "relationship", RELATIONSHIP_DIR)
        await conn.execute(  # as the first seed wrote Tianjin, and an operator's legacy row
            """INSERT INTO policies (admdvs, settings, updated_by) VALUES
                 ('120000', $1, 'seed'), ('440300', $2, 'alice')""",
            LEGACY_TIANJIN_SEED,
            {"max_recipients_per_kinship_group": {"extended": 2}, "two_way_allowed": True},
        )
    finally:
        await conn.close()
    pool = await create_pool(settings.dsn("relationship"), max_size=2)
    clock = BusinessClock()
    try:
        await seed_policies(pool)  # never overwrites a row
        assert await upgrade_policies(pool, Outbox("relationship", "relationship", clock), clock) == 2
        assert await upgrade_policies(pool, Outbox("relationship", "relationship", clock), clock) == 0, "once"
        async with pool.acquire() as c:
            rows = {r["admdvs"]: dict(r) for r in await c.fetch("SELECT * FROM policies")}
            published = [json.loads(r["value"]) for r in await c.fetch("SELECT value FROM outbox ORDER BY id")]
    finally:
        await pool.close()
    tianjin, shenzhen = rows["120000"], rows["440300"]
    assert tianjin["settings"] == {"kinship_caps": [TIANJIN_CAP]}
    assert (tianjin["updated_by"], shenzhen["updated_by"]) == (UPGRADED_BY, UPGRADED_BY)
    assert shenzhen["settings"] == {
        "two_way_allowed": True,
        "kinship_caps": [{"kinships": LEGACY_GROUPS["extended"], "max": 2}],
    }
    changed: list[dict[str, Any]] = [p for p in published if p["type"] == "relationship.policy-changed"]
    assert [(p["body"]["admdvs"], p["body"]["version"]) for p in changed] == [
        ("120000", tianjin["version"]),
        ("440300", shenzhen["version"]),
    ]
    assert changed[0]["body"]["settings"] == {"kinship_caps": [TIANJIN_CAP]}
