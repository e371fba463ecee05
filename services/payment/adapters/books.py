"""The payment service's books: every settlement adds up, and its portions are what it says was paid."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from shared.db.books import Problems, run_checks
from shared.db.pool import Conn
from shared.db.sagas import saga_readings
from shared.observability.metrics import SagaReading

BOOKS_QUERIES: dict[str, str] = {
    # acct_pay + wallet_pay + cash = the personal part (a table constraint too), and the portions are exactly
    # acct_pay (own or provider account) and wallet_pay (lots).
    "portions_match_the_settlement": """
        SELECT s.setl_id FROM settlements s LEFT JOIN settlement_portions p USING (setl_id)
        WHERE s.state IN ('completed', 'cancelling', 'cancelled')
        GROUP BY s.setl_id, s.acct_pay, s.acct_mulaid_pay, s.wallet_pay, s.psn_cash_pay, s.psn_part_amt
        HAVING s.acct_pay + s.wallet_pay + s.psn_cash_pay <> s.psn_part_amt
            OR COALESCE(sum(p.amount) FILTER (WHERE p.source = 'wallet'), 0) <> s.wallet_pay
            OR COALESCE(sum(p.amount) FILTER (WHERE p.source <> 'wallet'), 0) <> s.acct_pay
            OR COALESCE(sum(p.amount) FILTER (WHERE p.source = 'provider_account'), 0) <> s.acct_mulaid_pay""",
    # Nothing refused or still waiting has portions.
    "only_paid_settlements_have_portions": """
        SELECT DISTINCT s.setl_id FROM settlements s JOIN settlement_portions p USING (setl_id)
        WHERE s.state IN ('debiting', 'refused')""",
    # Every answer that waited for the wallet was given (once the platform is quiet).
    "no_settlement_waits": """
        SELECT setl_id FROM settlements WHERE state IN ('debiting', 'cancelling')""",
}


async def check_books(conn: Conn) -> Problems:
    return await run_checks(conn, BOOKS_QUERIES)


async def paid_by_region_pair(conn: Conn) -> dict[tuple[str, str], Decimal]:
    """What settlements and contributions took and kept (cancelled ones gave it back), by (funding region,
    spending region): the payment service's side of the platform's conservation check."""
    rows = await conn.fetch(
        """SELECT p.funding_admdvs, p.spending_admdvs, sum(p.amount) AS amount
           FROM settlement_portions p JOIN settlements s USING (setl_id)
           WHERE s.state = 'completed' GROUP BY 1, 2"""
    )
    return {(r["funding_admdvs"], r["spending_admdvs"]): r["amount"] for r in rows}


async def kept_by_settlement(conn: Conn) -> dict[str, Decimal]:
    """Per settlement the wallet was asked to pay and answered: what it kept (0 when cancelled)."""
    rows = await conn.fetch(
        """SELECT s.setl_id, CASE WHEN s.state = 'completed' THEN s.acct_pay + s.wallet_pay ELSE 0 END AS amount
           FROM settlements s WHERE s.state IN ('completed', 'cancelled')"""
    )
    return {r["setl_id"]: r["amount"] for r in rows}


async def saga_states(conn: Conn, now: datetime) -> list[SagaReading]:
    """Settlements by state, for the metrics: debiting and cancelling are open."""
    return await saga_readings(
        conn,
        saga="settlement",
        table="settlements",
        state_column="state",
        since_column="requested_at",
        states=("debiting", "completed", "refused", "cancelling", "cancelled"),
        open_states=("debiting", "cancelling"),
        now=now,
    )
