"""The clearing service's books: a closed month's pair totals and statements are exactly its items."""

from __future__ import annotations

from datetime import datetime

from shared.db.books import Problems, run_checks
from shared.db.pool import Conn
from shared.db.sagas import saga_readings
from shared.observability.metrics import SagaReading

BOOKS_QUERIES: dict[str, str] = {
    "pair_totals_match_items": """
        WITH t AS (
            SELECT period, least(debtor_admdvs, creditor_admdvs) AS a, greatest(debtor_admdvs, creditor_admdvs) AS b,
                   sum(CASE WHEN debtor_admdvs < creditor_admdvs THEN s ELSE 0 END) AS a_owes_b,
                   sum(CASE WHEN debtor_admdvs > creditor_admdvs THEN s ELSE 0 END) AS b_owes_a
            FROM (SELECT *, CASE direction WHEN 'forward' THEN amount ELSE -amount END AS s FROM items) i
            WHERE period IN (SELECT period FROM periods) GROUP BY 1, 2, 3)
        SELECT COALESCE(p.period, t.period) || ':' || COALESCE(p.region_a, t.a) || '-' || COALESCE(p.region_b, t.b)
        FROM pair_totals p FULL JOIN t ON (p.period, p.region_a, p.region_b) = (t.period, t.a, t.b)
        WHERE p.a_owes_b IS DISTINCT FROM t.a_owes_b OR p.b_owes_a IS DISTINCT FROM t.b_owes_a""",
    "statements_match_pair_totals": """
        WITH l AS (
            SELECT period, region_a AS admdvs, a_owes_b AS owes, b_owes_a AS owed FROM pair_totals
            UNION ALL SELECT period, region_b, b_owes_a, a_owes_b FROM pair_totals),
        t AS (SELECT period, admdvs, sum(owes) AS owes, sum(owed) AS owed FROM l GROUP BY 1, 2)
        SELECT COALESCE(s.statement_id, t.period || ':' || t.admdvs)
        FROM statements s FULL JOIN t USING (period, admdvs)
        WHERE s.owes IS DISTINCT FROM t.owes OR s.owed IS DISTINCT FROM t.owed""",
    # Across all regions a month's statements sum to zero net: what one owes another is owed.
    "statements_net_to_zero": """
        SELECT period FROM statements GROUP BY period HAVING sum(net) <> 0 OR sum(owes) <> sum(owed)""",
    # A reverse item never exceeds its forward item, and follows it in time (same or later month).
    "reversals_follow_their_payment": """
        SELECT r.item_id FROM items r LEFT JOIN items f ON f.item_id = left(r.item_id, -1) || 'f'
        WHERE r.direction = 'reverse' AND (f.item_id IS NULL OR f.amount <> r.amount OR r.period < f.period)""",
}


async def check_books(conn: Conn) -> Problems:
    return await run_checks(conn, BOOKS_QUERIES)


async def saga_states(conn: Conn, now: datetime) -> list[SagaReading]:
    """Closed clearing months, for the metrics."""
    return await saga_readings(
        conn,
        saga="clearing_month",
        table="periods",
        state_column="state",
        since_column="closed_at",
        states=("closed",),
        open_states=(),
        now=now,
    )
