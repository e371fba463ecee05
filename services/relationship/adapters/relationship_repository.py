"""SQL for relationships (the `Relationships` port)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.relationship.domain.relationships import (
    KINSHIP_GROUP,
    EndReason,
    Relationship,
    RelationshipStateError,
    Standing,
    Status,
)
from shared.db.pool import Conn

_COLUMNS = """relationship_id, provider_psn_no, recipient_psn_no, kinship, status, provider_admdvs,
              recipient_admdvs, expires_at, requested_at, version, established_at, ended_at, end_reason, end_detail"""


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
        r["version"],
        r["established_at"],
        r["ended_at"],
        None if r["end_reason"] is None else EndReason(r["end_reason"]),
        r["end_detail"],
    )


class RelationshipRepository:
    def __init__(self, conn: Conn) -> None:
        self.conn = conn

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

    async def add(self, rel: Relationship, msgid: str) -> None:
        await self.conn.execute(
            """INSERT INTO relationships (relationship_id, provider_psn_no, recipient_psn_no, kinship, kinship_group,
                   status, provider_admdvs, recipient_admdvs, requested_at, expires_at, requested_by_msgid, version)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)""",
            rel.relationship_id,
            rel.provider_psn_no,
            rel.recipient_psn_no,
            rel.kinship,
            KINSHIP_GROUP[rel.kinship],
            rel.status.value,
            rel.provider_admdvs,
            rel.recipient_admdvs,
            rel.requested_at,
            rel.expires_at,
            msgid,
            rel.version,
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

    async def save(self, rel: Relationship) -> None:
        updated = await self.conn.execute(
            """UPDATE relationships SET status = $2, version = $3, established_at = $4, ended_at = $5,
                                        end_reason = $6, end_detail = $7
               WHERE relationship_id = $1 AND version < $3""",
            rel.relationship_id,
            rel.status.value,
            rel.version,
            rel.established_at,
            rel.ended_at,
            None if rel.end_reason is None else rel.end_reason.value,
            rel.end_detail,
        )
        if updated != "UPDATE 1":
            raise RelationshipStateError(f"{rel.relationship_id} is stored at version {rel.version} or later")

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
