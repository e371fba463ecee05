"""SQL for people (the `People` port)."""

from __future__ import annotations

from typing import Any

import asyncpg

from services.relationship.domain.people import Person
from shared.db.pool import Conn
from shared.identity import name_hash


async def hash_stored_names(pool: asyncpg.Pool[Any], identity_key: bytes) -> int:
    """Names stored in clear before migration 0004 are replaced by their keyed hash (at start, before any
    consumer runs). Returns how many."""
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch("SELECT psn_no, psn_name FROM people WHERE psn_name IS NOT NULL FOR UPDATE")
        await conn.executemany(
            "UPDATE people SET name_hash = $2, psn_name = NULL WHERE psn_no = $1",
            [(r["psn_no"], name_hash(r["psn_name"], identity_key)) for r in rows],
        )
    return len(rows)


class PeopleRepository:
    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def get_for_update(self, psn_no: str) -> Person | None:
        """Locked, and so is the psn_no when nobody has it yet: two first enrolments (from records keyed otherwise,
        on other partitions) are judged one after the other."""
        await self.conn.execute("SELECT pg_advisory_xact_lock(hashtext('people:' || $1))", psn_no)
        r = await self.conn.fetchrow(
            """SELECT psn_no, name_hash, certno_hash, psn_cert_type, insutype, psn_insu_stas, insuplc_admdvs,
                      has_personal_account, effective_at FROM people WHERE psn_no = $1 FOR UPDATE""",
            psn_no,
        )
        return None if r is None else Person(**dict(r))

    async def save(self, person: Person, change_reason: str) -> int:
        """The person's new version (1 for a first enrolment)."""
        version = await self.conn.fetchval(
            """INSERT INTO people (psn_no, name_hash, certno_hash, psn_cert_type, insutype, psn_insu_stas,
                                   insuplc_admdvs, has_personal_account, last_change_reason, effective_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
               ON CONFLICT (psn_no) DO UPDATE SET name_hash = EXCLUDED.name_hash, certno_hash = EXCLUDED.certno_hash,
                   psn_cert_type = EXCLUDED.psn_cert_type, insutype = EXCLUDED.insutype,
                   psn_insu_stas = EXCLUDED.psn_insu_stas, insuplc_admdvs = EXCLUDED.insuplc_admdvs,
                   has_personal_account = EXCLUDED.has_personal_account,
                   last_change_reason = EXCLUDED.last_change_reason, effective_at = EXCLUDED.effective_at,
                   updated_at = now(), version = people.version + 1
               RETURNING version""",
            person.psn_no,
            person.name_hash,
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

    async def lock(self, *psn_nos: str) -> dict[str, Person]:
        rows = await self.conn.fetch(
            """SELECT psn_no, name_hash, certno_hash, psn_cert_type, insutype, psn_insu_stas, insuplc_admdvs,
                      has_personal_account, effective_at
               FROM people WHERE psn_no = ANY($1::text[]) ORDER BY psn_no FOR UPDATE""",
            sorted(set(psn_nos)),
        )
        return {r["psn_no"]: Person(**dict(r)) for r in rows}
