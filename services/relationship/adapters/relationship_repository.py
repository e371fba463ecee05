"""SQL for relationships and policies."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.relationship.domain.people import Person
from services.relationship.domain.relationships import KINSHIP_GROUP, Relationship, Standing, Status
from shared.db.pool import Conn

_COLUMNS = """relationship_id, provider_psn_no, recipient_psn_no, kinship, status, provider_admdvs,
              recipient_admdvs, expires_at, requested_at"""


def _relationship(r: Any) -> Relationship:
    return Relationship(
        r["relationship_id"],
        r["provider_psn_no"],
        r["recipient_psn_no"],
        r["kinship"],
        Status(r["status"]),
        r["provider_admdvs"],
        r["recipient_admdvs"],
        r["expires_at"],
        r["requested_at"],
    )


class RelationshipRepository:
    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def lock_people(self, *psn_nos: str) -> dict[str, Person]:
        """Both parties' rows, locked in a fixed order: decisions about the same people are serialized."""
        rows = await self.conn.fetch(
            """SELECT psn_no, name_hash, certno_hash, psn_cert_type, insutype, psn_insu_stas, insuplc_admdvs,
                      has_personal_account, effective_at
               FROM people WHERE psn_no = ANY($1::text[]) ORDER BY psn_no FOR UPDATE""",
            sorted(set(psn_nos)),
        )
        return {r["psn_no"]: Person(**dict(r)) for r in rows}

    async def standing(self, provider: str, recipient: str, exclude: str | None = None) -> Standing:
        r = await self.conn.fetchrow(
            """SELECT
                 count(*) FILTER (WHERE provider_psn_no = $1) AS provider_recipients,
                 count(*) FILTER (WHERE recipient_psn_no = $2) AS recipient_providers,
                 bool_or(recipient_psn_no = $1) AS provider_is_recipient,
                 bool_or(provider_psn_no = $2) AS recipient_is_provider,
                 bool_or(provider_psn_no = $1 AND recipient_psn_no = $2) AS pair_exists,
                 bool_or(provider_psn_no = $2 AND recipient_psn_no = $1) AS reverse_exists
               FROM relationships
               WHERE status <> 'ended' AND relationship_id IS DISTINCT FROM $3
                 AND (provider_psn_no IN ($1, $2) OR recipient_psn_no IN ($1, $2))""",
            provider,
            recipient,
            exclude,
        )
        assert r is not None
        by_kinship = await self.conn.fetch(
            """SELECT kinship, count(*) AS n FROM relationships
               WHERE provider_psn_no = $1 AND status <> 'ended' AND relationship_id IS DISTINCT FROM $2
               GROUP BY kinship""",
            provider,
            exclude,
        )
        return Standing(
            provider_recipients=r["provider_recipients"],
            provider_recipients_by_kinship={k["kinship"]: k["n"] for k in by_kinship},
            recipient_providers=r["recipient_providers"],
            provider_is_recipient=bool(r["provider_is_recipient"]),
            recipient_is_provider=bool(r["recipient_is_provider"]),
            pair_exists=bool(r["pair_exists"]),
            reverse_exists=bool(r["reverse_exists"]),
        )

    async def insert_pending(self, rel: Relationship, requested_at: datetime, msgid: str) -> None:
        await self.conn.execute(
            """INSERT INTO relationships (relationship_id, provider_psn_no, recipient_psn_no, kinship, kinship_group,
                   status, provider_admdvs, recipient_admdvs, requested_at, expires_at, requested_by_msgid)
               VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $8, $9, $10)""",
            rel.relationship_id,
            rel.provider_psn_no,
            rel.recipient_psn_no,
            rel.kinship,
            KINSHIP_GROUP[rel.kinship],
            rel.provider_admdvs,
            rel.recipient_admdvs,
            requested_at,
            rel.expires_at,
            msgid,
        )

    async def get(self, relationship_id: str) -> Relationship | None:
        r = await self.conn.fetchrow(
            f"SELECT {_COLUMNS} FROM relationships WHERE relationship_id = $1", relationship_id
        )
        return None if r is None else _relationship(r)

    async def get_for_update(self, relationship_id: str) -> Relationship | None:
        r = await self.conn.fetchrow(
            f"SELECT {_COLUMNS} FROM relationships WHERE relationship_id = $1 FOR UPDATE", relationship_id
        )
        return None if r is None else _relationship(r)

    async def establish(self, relationship_id: str, at: datetime) -> int:
        """The relationship's new version."""
        version = await self.conn.fetchval(
            """UPDATE relationships SET status = 'established', established_at = $2, version = version + 1
               WHERE relationship_id = $1 RETURNING version""",
            relationship_id,
            at,
        )
        return int(version)

    async def end(self, relationship_id: str, at: datetime, reason: str, detail: str | None) -> int:
        """The relationship's version after the end (its last)."""
        version = await self.conn.fetchval(
            """WITH ended AS (
                   UPDATE relationships SET status = 'ended', ended_at = $2, end_reason = $3, end_detail = $4,
                                            version = version + 1
                   WHERE relationship_id = $1 AND status <> 'ended' RETURNING version)
               SELECT coalesce((SELECT version FROM ended),
                               (SELECT version FROM relationships WHERE relationship_id = $1))""",
            relationship_id,
            at,
            reason,
            detail,
        )
        return int(version)

    async def active_of(self, psn_no: str) -> list[Relationship]:
        rows = await self.conn.fetch(
            f"""SELECT {_COLUMNS} FROM relationships
                WHERE status <> 'ended' AND (provider_psn_no = $1 OR recipient_psn_no = $1)
                ORDER BY relationship_id FOR UPDATE""",
            psn_no,
        )
        return [_relationship(r) for r in rows]

    async def expired_pending(self, now: datetime, limit: int) -> list[Relationship]:
        rows = await self.conn.fetch(
            f"""SELECT {_COLUMNS} FROM relationships WHERE status = 'pending' AND expires_at <= $1
                ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED""",
            now,
            limit,
        )
        return [_relationship(r) for r in rows]

    async def policy_rows(self, *admdvs: str) -> dict[str, dict[str, Any]]:
        levels = {"000000"} | {a[:2] + "0000" for a in admdvs} | set(admdvs)
        rows = await self.conn.fetch(
            "SELECT admdvs, settings FROM policies WHERE admdvs = ANY($1::text[])", sorted(levels)
        )
        return {r["admdvs"]: r["settings"] for r in rows}
