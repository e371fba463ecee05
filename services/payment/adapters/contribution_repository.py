"""SQL for contributions as policy data (docs/adr/0022): the yearly standards and the copy of where each person is
insured; the PostgreSQL side of the ContributionStandards and InsuredPeople ports
(services/payment/service_layer/ports.py). Once a year is SettlementRepository.add_contribution's."""

from __future__ import annotations

from typing import Any

from services.payment.domain.contributions import Standard
from shared.db.pool import Conn


def _standard(r: Any) -> Standard:
    return Standard(r["admdvs"], r["insutype"], r["year"], r["amount"], r["source"])


class ContributionStandardRepository:
    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def for_region(self, admdvs: tuple[str, ...], insutype: str, year: int) -> list[Standard]:
        rows = await self.conn.fetch(
            """SELECT DISTINCT ON (admdvs) admdvs, insutype, year, amount, source FROM contribution_standards
               WHERE admdvs = ANY($1::text[]) AND insutype = $2 AND year <= $3
               ORDER BY admdvs, year DESC""",
            list(admdvs),
            insutype,
            year,
        )
        return [_standard(r) for r in rows]

    async def set(self, standard: Standard) -> None:
        await self.conn.execute(
            """INSERT INTO contribution_standards (admdvs, insutype, year, amount, source) VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (admdvs, insutype, year)
               DO UPDATE SET amount = EXCLUDED.amount, source = EXCLUDED.source, set_at = now()""",
            standard.admdvs,
            standard.insutype,
            standard.year,
            standard.amount,
            standard.source,
        )

    async def listing(self, admdvs: str | None, insutype: str | None) -> list[Standard]:
        rows = await self.conn.fetch(
            """SELECT admdvs, insutype, year, amount, source FROM contribution_standards
               WHERE ($1::text IS NULL OR admdvs = $1) AND ($2::text IS NULL OR insutype = $2)
               ORDER BY admdvs, insutype, year""",
            admdvs,
            insutype,
        )
        return [_standard(r) for r in rows]


class InsuredPeopleRepository:
    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def record(self, psn_no: str, insuplc_admdvs: str, version: int) -> bool:
        kept = await self.conn.fetchval(
            """INSERT INTO insured_people (psn_no, insuplc_admdvs, version) VALUES ($1, $2, $3)
               ON CONFLICT (psn_no) DO UPDATE SET insuplc_admdvs = EXCLUDED.insuplc_admdvs, version = EXCLUDED.version
               WHERE insured_people.version < EXCLUDED.version
               RETURNING true""",
            psn_no,
            insuplc_admdvs,
            version,
        )
        return bool(kept)

    async def region_of(self, psn_no: str) -> str | None:
        found: str | None = await self.conn.fetchval(
            "SELECT insuplc_admdvs FROM insured_people WHERE psn_no = $1", psn_no
        )
        return found
