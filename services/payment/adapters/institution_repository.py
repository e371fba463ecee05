"""SQL for institutions: the PostgreSQL side of the Institutions port (services/payment/service_layer/ports.py)."""

from __future__ import annotations

from services.payment.domain.institutions import Institution
from shared.db.pool import Conn


class InstitutionRepository:
    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def get(self, fixmedins_code: str) -> Institution | None:
        r = await self.conn.fetchrow(
            """SELECT fixmedins_code, fixmedins_name, fixmedins_type, admdvs, wallet_enabled
               FROM institutions WHERE fixmedins_code = $1""",
            fixmedins_code,
        )
        return None if r is None else Institution(**dict(r))

    async def admdvs_of(self, fixmedins_code: str) -> str | None:
        """The region an institution is registered in now, if it is registered."""
        found: str | None = await self.conn.fetchval(
            "SELECT admdvs FROM institutions WHERE fixmedins_code = $1", fixmedins_code
        )
        return found

    async def upsert(self, i: Institution) -> bool:
        """Returns True when something changed."""
        row = await self.conn.fetchrow(
            """INSERT INTO institutions (fixmedins_code, fixmedins_name, fixmedins_type, admdvs, wallet_enabled)
               VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (fixmedins_code) DO UPDATE SET fixmedins_name = EXCLUDED.fixmedins_name,
                   fixmedins_type = EXCLUDED.fixmedins_type, admdvs = EXCLUDED.admdvs,
                   wallet_enabled = EXCLUDED.wallet_enabled, updated_at = now()
               WHERE (institutions.fixmedins_name, institutions.fixmedins_type, institutions.admdvs,
                      institutions.wallet_enabled)
                     IS DISTINCT FROM (EXCLUDED.fixmedins_name, EXCLUDED.fixmedins_type, EXCLUDED.admdvs,
                                       EXCLUDED.wallet_enabled)
               RETURNING fixmedins_code""",
            i.fixmedins_code,
            i.fixmedins_name,
            i.fixmedins_type,
            i.admdvs,
            i.wallet_enabled,
        )
        return row is not None
