"""SQL for obligations, closed months, pair totals and statements."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from shared.db.pool import Conn


def _lock_key(period: str) -> int:
    return 7_000_000 + int(period)


class ClearingRepository:
    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def share_month(self, period: str) -> None:
        """Recording into a month holds it shared; closing it takes it exclusively (no item slips in late)."""
        await self.conn.execute("SELECT pg_advisory_xact_lock_shared($1)", _lock_key(period))

    async def hold_month(self, period: str) -> None:
        await self.conn.execute("SELECT pg_advisory_xact_lock($1)", _lock_key(period))

    async def closed_months(self) -> set[str]:
        return {r["period"] for r in await self.conn.fetch("SELECT period FROM periods")}

    async def is_closed(self, period: str) -> bool:
        return bool(await self.conn.fetchval("SELECT true FROM periods WHERE period = $1", period))

    async def forward_period(self, setl_id: str, seq: int) -> str | None:
        value = await self.conn.fetchval("SELECT period FROM items WHERE item_id = $1", f"{setl_id}:{seq}:f")
        return None if value is None else str(value)

    async def add_item(self, item: dict[str, Any]) -> bool:
        row = await self.conn.fetchrow(
            """INSERT INTO items (item_id, setl_id, seq, direction, period, natural_month, debtor_admdvs,
                   creditor_admdvs, amount, source, purpose, recorded_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
               ON CONFLICT (item_id) DO NOTHING RETURNING item_id""",
            item["item_id"],
            item["setl_id"],
            item["seq"],
            item["direction"],
            item["period"],
            item["natural_month"],
            item["debtor_admdvs"],
            item["creditor_admdvs"],
            item["amount"],
            item["source"],
            item["purpose"],
            item["recorded_at"],
        )
        return row is not None

    async def close(self, period: str, at: datetime, closed_by: str) -> dict[str, Any]:
        """Freeze the month: pair totals, one statement per region. Returns the month's totals."""
        totals = await self.conn.fetchrow(
            """SELECT count(*) AS items,
                      COALESCE(sum(CASE direction WHEN 'forward' THEN amount ELSE -amount END), 0) AS gross
               FROM items WHERE period = $1""",
            period,
        )
        assert totals is not None
        regions = await self.conn.fetchval(
            """SELECT count(*) FROM (SELECT DISTINCT debtor_admdvs FROM items WHERE period = $1
                                     UNION SELECT DISTINCT creditor_admdvs FROM items WHERE period = $1) r""",
            period,
        )
        await self.conn.execute(
            """INSERT INTO periods (period, state, closed_at, closed_by, items, statements)
               VALUES ($1, 'closed', $2, $3, $4, $5)""",
            period,
            at,
            closed_by,
            totals["items"],
            regions,
        )
        await self.conn.execute(
            """INSERT INTO pair_totals (period, region_a, region_b, a_owes_b, b_owes_a, net_a_to_b, items)
               SELECT $1, a, b, a_owes_b, b_owes_a, a_owes_b - b_owes_a, n FROM (
                   SELECT least(debtor_admdvs, creditor_admdvs) AS a, greatest(debtor_admdvs, creditor_admdvs) AS b,
                          sum(CASE WHEN debtor_admdvs < creditor_admdvs THEN signed ELSE 0 END) AS a_owes_b,
                          sum(CASE WHEN debtor_admdvs > creditor_admdvs THEN signed ELSE 0 END) AS b_owes_a,
                          count(*) AS n
                   FROM (SELECT debtor_admdvs, creditor_admdvs,
                                CASE direction WHEN 'forward' THEN amount ELSE -amount END AS signed
                         FROM items WHERE period = $1) i
                   GROUP BY 1, 2) t""",
            period,
        )
        statements = await self.conn.fetchval(
            """WITH lines AS (
                   SELECT region_a AS admdvs, a_owes_b AS owes, b_owes_a AS owed FROM pair_totals WHERE period = $1
                   UNION ALL
                   SELECT region_b, b_owes_a, a_owes_b FROM pair_totals WHERE period = $1),
               inserted AS (
                   INSERT INTO statements (statement_id, period, admdvs, owes, owed, net, counterparts, issued_at)
                   SELECT 'CS' || $1 || admdvs, $1, admdvs, sum(owes), sum(owed), sum(owed) - sum(owes), count(*), $2
                   FROM lines GROUP BY admdvs RETURNING 1)
               SELECT count(*) FROM inserted""",
            period,
            at,
        )
        pairs = await self.conn.fetchval("SELECT count(*) FROM pair_totals WHERE period = $1", period)
        return {"items": totals["items"], "gross": totals["gross"], "pairs": pairs, "statements": statements}

    async def statement_lines(self, period: str) -> list[dict[str, Any]]:
        """Every region's lines by counterpart, ordered by region then counterpart."""
        rows = await self.conn.fetch(
            """SELECT admdvs, counterpart, owes, owed FROM (
                   SELECT region_a AS admdvs, region_b AS counterpart, a_owes_b AS owes, b_owes_a AS owed
                   FROM pair_totals WHERE period = $1
                   UNION ALL
                   SELECT region_b, region_a, b_owes_a, a_owes_b FROM pair_totals WHERE period = $1) l
               ORDER BY admdvs, counterpart""",
            period,
        )
        return [dict(r) for r in rows]

    async def statements_of(self, period: str) -> list[dict[str, Any]]:
        rows = await self.conn.fetch("SELECT * FROM statements WHERE period = $1 ORDER BY admdvs", period)
        return [dict(r) for r in rows]

    async def statement(self, statement_id: str) -> dict[str, Any] | None:
        row = await self.conn.fetchrow("SELECT * FROM statements WHERE statement_id = $1 FOR UPDATE", statement_id)
        return None if row is None else dict(row)

    async def answer_statement(
        self, statement_id: str, sender: str, msgid: str, answer: str, reason: str | None, at: datetime
    ) -> None:
        await self.conn.execute(
            """INSERT INTO statement_answers (statement_id, sender, msgid, answer, reason, at)
               VALUES ($1, $2, $3, $4, $5, $6)""",
            statement_id,
            sender,
            msgid,
            answer,
            reason,
            at,
        )
        await self.conn.execute("UPDATE statements SET answer = $2 WHERE statement_id = $1", statement_id, answer)

    async def totals_by_pair(self) -> dict[tuple[str, str], Decimal]:
        """Net obligations over all months by (debtor, creditor): clearing's side of the conservation check."""
        rows = await self.conn.fetch(
            """SELECT debtor_admdvs, creditor_admdvs,
                      sum(CASE direction WHEN 'forward' THEN amount ELSE -amount END) AS amount
               FROM items GROUP BY 1, 2"""
        )
        return {(r["debtor_admdvs"], r["creditor_admdvs"]): r["amount"] for r in rows}
