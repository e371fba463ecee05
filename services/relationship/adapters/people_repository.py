"""SQL for people."""

from __future__ import annotations

from services.relationship.domain.people import Person
from shared.db.pool import Conn


class PeopleRepository:
    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def get_for_update(self, psn_no: str) -> Person | None:
        r = await self.conn.fetchrow(
            """SELECT psn_no, psn_name, certno_hash, psn_cert_type, insutype, psn_insu_stas, insuplc_admdvs,
                      has_personal_account, effective_at FROM people WHERE psn_no = $1 FOR UPDATE""",
            psn_no,
        )
        return None if r is None else Person(**dict(r))

    async def save(self, person: Person, change_reason: str) -> int:
        """The person's new version (1 for a first enrolment)."""
        version = await self.conn.fetchval(
            """INSERT INTO people (psn_no, psn_name, certno_hash, psn_cert_type, insutype, psn_insu_stas,
                                   insuplc_admdvs, has_personal_account, last_change_reason, effective_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
               ON CONFLICT (psn_no) DO UPDATE SET psn_name = EXCLUDED.psn_name, certno_hash = EXCLUDED.certno_hash,
                   psn_cert_type = EXCLUDED.psn_cert_type, insutype = EXCLUDED.insutype,
                   psn_insu_stas = EXCLUDED.psn_insu_stas, insuplc_admdvs = EXCLUDED.insuplc_admdvs,
                   has_personal_account = EXCLUDED.has_personal_account,
                   last_change_reason = EXCLUDED.last_change_reason, effective_at = EXCLUDED.effective_at,
                   updated_at = now(), version = people.version + 1
               RETURNING version""",
            person.psn_no,
            person.psn_name,
            person.certno_hash,
            person.psn_cert_type,
            person.insutype,
            person.psn_insu_stas,
            person.insuplc_admdvs,
            person.has_personal_account,
            change_reason,
            person.effective_at,
        )
        return int(version)
