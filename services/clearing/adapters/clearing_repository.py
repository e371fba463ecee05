"""SQL for obligations (items), closed months, pair totals and statements: the clearing ports on PostgreSQL,
and the operators' reads (the console, tools/books.py)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from decimal import Decimal
from typing import Any

from services.clearing.domain.clearing import item_id
from services.clearing.domain.months import Answer, Line, Month, MonthTotals, Statement
from services.clearing.domain.obligations import Obligation
from shared.db.pool import Conn


def _lock_key(period: str) -> int:
    return 7_000_000 + int(period)


class ObligationRepository:
    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def add(self, obligation: Obligation) -> bool:
        o = obligation
        row = await self.conn.fetchrow(
            """INSERT INTO items (item_id, setl_id, seq, direction, period, natural_month, debtor_admdvs,
                   creditor_admdvs, amount, source, purpose, recorded_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
               ON CONFLICT (item_id) DO NOTHING RETURNING item_id""",
            o.item_id,
            o.setl_id,
            o.seq,
            o.direction.value,
            o.period,
            o.natural_month,
            o.debtor_admdvs,
            o.creditor_admdvs,
            o.amount,
            o.source,
            o.purpose,
            o.recorded_at,
        )
        return row is not None

    async def forward_period(self, setl_id: str, seq: int) -> str | None:
        value = await self.conn.fetchval("SELECT period FROM items WHERE item_id = $1", item_id(setl_id, seq, True))
        return None if value is None else str(value)


class MonthRepository:
    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def closed(self) -> set[str]:
        return {r["period"] for r in await self.conn.fetch("SELECT period FROM periods")}

    async def is_closed(self, period: str) -> bool:
        return bool(await self.conn.fetchval("SELECT true FROM periods WHERE period = $1", period))

    async def share(self, period: str) -> None:
        await self.conn.execute("SELECT pg_advisory_xact_lock_shared($1)", _lock_key(period))

    async def get(self, period: str) -> Month:
        row = await self.conn.fetchrow("SELECT closed_at, closed_by FROM periods WHERE period = $1", period)
        return Month(period) if row is None else Month(period, row["closed_at"], row["closed_by"])

    async def hold(self, period: str) -> Month:
        await self.conn.execute("SELECT pg_advisory_xact_lock($1)", _lock_key(period))
        return await self.get(period)

    async def tally(self, period: str) -> MonthTotals:
        row = await self.conn.fetchrow(
            """WITH i AS (SELECT debtor_admdvs AS d, creditor_admdvs AS c,
                                 CASE direction WHEN 'forward' THEN amount ELSE -amount END AS signed
                          FROM items WHERE period = $1),
               pairs AS (SELECT DISTINCT least(d, c) AS a, greatest(d, c) AS b FROM i)
               SELECT (SELECT count(*) FROM i) AS items,
                      (SELECT COALESCE(sum(signed), 0) FROM i) AS gross,
                      (SELECT count(*) FROM pairs) AS pairs,
                      (SELECT count(*) FROM (SELECT a FROM pairs UNION SELECT b FROM pairs) r) AS regions""",
            period,
        )
        assert row is not None
        return MonthTotals(items=row["items"], gross=row["gross"], pairs=row["pairs"], statements=row["regions"])

    async def save(self, month: Month) -> None:
        """Freeze a month closed in this unit of work: pair totals, one statement per region."""
        if month.closed_at is None or month.closed_by is None or month.totals is None:
            raise ValueError(f"month {month.period} was not closed here: nothing to save")
        period, at = month.period, month.closed_at
        await self.conn.execute(
            """INSERT INTO periods (period, state, closed_at, closed_by, items, statements)
               VALUES ($1, 'closed', $2, $3, $4, $5)""",
            period,
            at,
            month.closed_by,
            month.totals.items,
            month.totals.statements,
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
        await self.conn.execute(
            """WITH lines AS (
                   SELECT region_a AS admdvs, a_owes_b AS owes, b_owes_a AS owed FROM pair_totals WHERE period = $1
                   UNION ALL
                   SELECT region_b, b_owes_a, a_owes_b FROM pair_totals WHERE period = $1)
               INSERT INTO statements (statement_id, period, admdvs, owes, owed, net, counterparts, issued_at)
               SELECT 'CS' || $1 || admdvs, $1, admdvs, sum(owes), sum(owed), sum(owed) - sum(owes), count(*), $2
               FROM lines GROUP BY admdvs""",
            period,
            at,
        )


def _statement(row: Any, lines: tuple[Line, ...] = ()) -> Statement:
    return Statement(
        statement_id=row["statement_id"],
        period=row["period"],
        admdvs=row["admdvs"],
        owes=row["owes"],
        owed=row["owed"],
        net=row["net"],
        answer=Answer(row["answer"]),
        lines=lines,
    )


class StatementRepository:
    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def lines(self, period: str) -> dict[str, tuple[Line, ...]]:
        """Every region's lines by counterpart, in counterpart order."""
        rows = await self.conn.fetch(
            """SELECT admdvs, counterpart, owes, owed FROM (
                   SELECT region_a AS admdvs, region_b AS counterpart, a_owes_b AS owes, b_owes_a AS owed
                   FROM pair_totals WHERE period = $1
                   UNION ALL
                   SELECT region_b, region_a, b_owes_a, a_owes_b FROM pair_totals WHERE period = $1) l
               ORDER BY admdvs, counterpart""",
            period,
        )
        by_region: dict[str, list[Line]] = defaultdict(list)
        for r in rows:
            by_region[r["admdvs"]].append(Line(r["counterpart"], r["owes"], r["owed"]))
        return {admdvs: tuple(lines) for admdvs, lines in by_region.items()}

    async def issued(self, period: str) -> list[Statement]:
        lines = await self.lines(period)
        rows = await self.conn.fetch("SELECT * FROM statements WHERE period = $1 ORDER BY admdvs", period)
        return [_statement(r, lines.get(r["admdvs"], ())) for r in rows]

    async def get_for_update(self, statement_id: str) -> Statement | None:
        row = await self.conn.fetchrow("SELECT * FROM statements WHERE statement_id = $1 FOR UPDATE", statement_id)
        return None if row is None else _statement(row)

    async def save(self, statement: Statement) -> None:
        for a in statement.new_answers:
            await self.conn.execute(
                """INSERT INTO statement_answers (statement_id, sender, msgid, answer, reason, at)
                   VALUES ($1, $2, $3, $4, $5, $6)""",
                statement.statement_id,
                a.sender,
                a.msgid,
                a.answer.value,
                a.reason,
                a.at,
            )
        await self.conn.execute(
            "UPDATE statements SET answer = $2 WHERE statement_id = $1", statement.statement_id, statement.answer.value
        )
        statement.new_answers = []


class ClearingRepository:
    """What operators read (the console, the platform's books): no use case writes through it."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def closed_months(self) -> set[str]:
        return await MonthRepository(self.conn).closed()

    async def months(self) -> list[dict[str, Any]]:
        """Every month with obligations: items, gross, when and by whom closed, statements and answers."""
        rows = await self.conn.fetch(
            """SELECT i.period, count(*) AS items,
                      sum(CASE direction WHEN 'forward' THEN amount ELSE -amount END) AS gross,
                      p.closed_at, p.closed_by,
                      s.statements, s.confirmed, s.disputed
               FROM items i LEFT JOIN periods p USING (period)
               LEFT JOIN (SELECT period, count(*) AS statements,
                                 count(*) FILTER (WHERE answer = 'confirmed') AS confirmed,
                                 count(*) FILTER (WHERE answer = 'disputed') AS disputed
                          FROM statements GROUP BY period) s USING (period)
               GROUP BY i.period, p.closed_at, p.closed_by, s.statements, s.confirmed, s.disputed
               ORDER BY i.period"""
        )
        return [dict(r) for r in rows]

    async def statement(self, period: str, admdvs: str) -> Statement | None:
        """One region's statement of a month, with its lines by counterpart."""
        row = await self.conn.fetchrow("SELECT * FROM statements WHERE period = $1 AND admdvs = $2", period, admdvs)
        if row is None:
            return None
        lines = await StatementRepository(self.conn).lines(period)
        return replace(_statement(row), lines=lines.get(admdvs, ()))

    async def totals_by_pair(self) -> dict[tuple[str, str], Decimal]:
        """Net obligations over all months by (debtor, creditor): clearing's side of the conservation check."""
        rows = await self.conn.fetch(
            """SELECT debtor_admdvs, creditor_admdvs,
                      sum(CASE direction WHEN 'forward' THEN amount ELSE -amount END) AS amount
               FROM items GROUP BY 1, 2"""
        )
        return {(r["debtor_admdvs"], r["creditor_admdvs"]): r["amount"] for r in rows}
