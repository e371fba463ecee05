"""SQL for registry listings (interface v1.1): keyset pages, one index range each, whatever the registry's size."""

from __future__ import annotations

from typing import Any

from shared.db.pool import Conn


def region_range(admdvs: str) -> tuple[str, str]:
    """A region `440300` is itself; a province `440000` is every region `44xxxx`."""
    if admdvs.endswith("0000"):
        return admdvs, f"{admdvs[:2]}9999"
    return admdvs, admdvs


class RegistryRepository:
    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def record_region(self, admdvs: str, wallet_enabled: bool) -> None:
        await self.conn.execute(
            """INSERT INTO regions (admdvs, wallet_enabled) VALUES ($1, $2)
               ON CONFLICT (admdvs) DO UPDATE SET wallet_enabled = EXCLUDED.wallet_enabled, updated_at = now()""",
            admdvs,
            wallet_enabled,
        )

    async def regions(self, admdvs: str, after: str, limit: int) -> list[dict[str, Any]]:
        low, high = region_range(admdvs)
        rows = await self.conn.fetch(
            """SELECT admdvs, wallet_enabled FROM regions WHERE admdvs BETWEEN $1 AND $2 AND admdvs > $3
               ORDER BY admdvs LIMIT $4""",
            low,
            high,
            after,
            limit,
        )
        return [{"admdvs": r["admdvs"], "wallet_enabled": r["wallet_enabled"]} for r in rows]

    async def institutions(
        self, admdvs: str, fixmedins_type: str | None, after: tuple[str, str], limit: int
    ) -> list[dict[str, Any]]:
        low, high = region_range(admdvs)
        rows = await self.conn.fetch(
            """SELECT fixmedins_code, fixmedins_name, fixmedins_type, admdvs, wallet_enabled FROM institutions
               WHERE admdvs BETWEEN $1 AND $2 AND (admdvs, fixmedins_code) > ($3, $4)
                 AND ($5::text IS NULL OR fixmedins_type = $5)
               ORDER BY admdvs, fixmedins_code LIMIT $6""",
            low,
            high,
            after[0],
            after[1],
            fixmedins_type,
            limit,
        )
        return [dict(r) for r in rows]
