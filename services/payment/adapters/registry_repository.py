"""SQL for registry listings (interface v1.1; the Registry port, services/payment/service_layer/ports.py):
keyset pages, one index range each, whatever the registry's size."""

from __future__ import annotations

from services.payment.domain.institutions import Institution
from services.payment.domain.registry import Region, region_range
from shared.db.pool import Conn


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

    async def regions(self, admdvs: str, after: str, limit: int) -> list[Region]:
        low, high = region_range(admdvs)
        rows = await self.conn.fetch(
            """SELECT admdvs, wallet_enabled FROM regions WHERE admdvs BETWEEN $1 AND $2 AND admdvs > $3
               ORDER BY admdvs LIMIT $4""",
            low,
            high,
            after,
            limit,
        )
        return [Region(r["admdvs"], r["wallet_enabled"]) for r in rows]

    async def institutions(
        self, admdvs: str, fixmedins_type: str | None, after: tuple[str, str], limit: int
    ) -> list[Institution]:
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
        return [Institution(**dict(r)) for r in rows]
