"""SQL for settlements, contributions, their portions and reversals."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.payment.domain.institutions import Institution
from shared.db.pool import Conn


class SettlementRepository:
    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def institution(self, fixmedins_code: str) -> Institution | None:
        r = await self.conn.fetchrow(
            """SELECT fixmedins_code, fixmedins_name, fixmedins_type, admdvs, wallet_enabled
               FROM institutions WHERE fixmedins_code = $1""",
            fixmedins_code,
        )
        return None if r is None else Institution(**dict(r))

    async def serialize_on(self, sender: str, msgid: str) -> None:
        """An original and its reversal never decide at the same time (they may come on two partitions)."""
        await self.conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 7))", f"{sender}:{msgid}")

    async def reversal_of(self, sender: str, msgid: str) -> dict[str, Any] | None:
        row = await self.conn.fetchrow("SELECT * FROM reversals WHERE sender = $1 AND omsgid = $2", sender, msgid)
        return None if row is None else dict(row)

    async def was_answered(self, sender: str, msgid: str) -> bool:
        return bool(await self.conn.fetchval("SELECT true FROM inbox WHERE sender = $1 AND msgid = $2", sender, msgid))

    async def record_reversal(
        self,
        sender: str,
        omsgid: str,
        otype: str,
        reversal_msgid: str,
        outcome: str,
        setl_id: str | None,
        at: datetime,
    ) -> None:
        await self.conn.execute(
            """INSERT INTO reversals (sender, omsgid, otype, reversal_msgid, outcome, setl_id, at)
               VALUES ($1, $2, $3, $4, $5, $6, $7)""",
            sender,
            omsgid,
            otype,
            reversal_msgid,
            outcome,
            setl_id,
            at,
        )

    async def insert(self, s: dict[str, Any]) -> None:
        columns = ", ".join(s)
        values = ", ".join(f"${i}" for i in range(1, len(s) + 1))
        await self.conn.execute(f"INSERT INTO settlements ({columns}) VALUES ({values})", *s.values())

    async def for_update(self, setl_id: str) -> dict[str, Any] | None:
        row = await self.conn.fetchrow("SELECT * FROM settlements WHERE setl_id = $1 FOR UPDATE", setl_id)
        return None if row is None else dict(row)

    async def by_msgid_for_update(self, sender: str, msgid: str) -> dict[str, Any] | None:
        row = await self.conn.fetchrow(
            "SELECT * FROM settlements WHERE sender = $1 AND msgid = $2 FOR UPDATE", sender, msgid
        )
        return None if row is None else dict(row)

    async def update(self, setl_id: str, **changes: Any) -> None:
        sets = ", ".join(f"{k} = ${i}" for i, k in enumerate(changes, start=2))
        await self.conn.execute(f"UPDATE settlements SET {sets} WHERE setl_id = $1", setl_id, *changes.values())

    async def add_portions(self, setl_id: str, portions: list[dict[str, Any]]) -> None:
        await self.conn.executemany(
            """INSERT INTO settlement_portions (setl_id, seq, source, payer_psn_no, lot_id, funding_admdvs,
                   spending_admdvs, amount) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
            [
                (
                    setl_id,
                    p["seq"],
                    p["source"],
                    p["payer_psn_no"],
                    p["lot_id"],
                    p["funding_admdvs"],
                    p["spending_admdvs"],
                    p["amount"],
                )
                for p in portions
            ],
        )

    async def portions_of(self, setl_id: str) -> list[dict[str, Any]]:
        rows = await self.conn.fetch(
            """SELECT seq, source, payer_psn_no, lot_id, funding_admdvs, spending_admdvs, amount
               FROM settlement_portions WHERE setl_id = $1 ORDER BY seq""",
            setl_id,
        )
        return [dict(r) for r in rows]

    async def set_reversal_outcome(self, sender: str, omsgid: str, outcome: str) -> None:
        await self.conn.execute(
            "UPDATE reversals SET outcome = $3 WHERE sender = $1 AND omsgid = $2", sender, omsgid, outcome
        )

    async def waiting(self, now: datetime, after_seconds: float) -> list[tuple[str, str, float]]:
        """Settlements whose wallet step has not come back after `after_seconds` of business time: (setl_id, state,
        seconds waiting), from the request or from the start of the cancellation or reversal."""
        rows = await self.conn.fetch(
            """SELECT setl_id, state, extract(epoch FROM $1 - since)::float8 AS waiting FROM (
                   SELECT setl_id, state, CASE state WHEN 'debiting' THEN requested_at
                                                     ELSE COALESCE(undo_requested_at, requested_at) END AS since
                   FROM settlements WHERE state IN ('debiting', 'cancelling')) s
               WHERE since < $1 - make_interval(secs => $2) ORDER BY since LIMIT 20""",
            now,
            after_seconds,
        )
        return [(r["setl_id"], r["state"], r["waiting"]) for r in rows]
