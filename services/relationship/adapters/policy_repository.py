"""SQL for the regional policies' rows (the relationship service owns them; shared/contracts/policy.py)."""

from __future__ import annotations

from typing import Any

from shared.db.pool import Conn


class PolicyRepository:
    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def for_update(self, admdvs: str, created_by: str) -> tuple[dict[str, Any], int]:
        """A region's overrides and their version, locked (an empty row, version 0, when it has none yet)."""
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
