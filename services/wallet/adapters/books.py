"""The books check: proves the ledger's invariants from the transfers, not from the cached balances."""

from __future__ import annotations

from shared.db.pool import Conn

BOOKS_QUERIES: dict[str, str] = {
    # Per account: the balances stored equal the sums of its transfers, by state.
    "account_sums_match_transfers": """
        WITH t AS (
            SELECT a.id,
                   COALESCE(SUM(x.amount) FILTER (WHERE x.debit_account = a.id AND x.state = 'posted'), 0) AS dpo,
                   COALESCE(SUM(x.amount) FILTER (WHERE x.debit_account = a.id AND x.state = 'pending'), 0) AS dpe,
                   COALESCE(SUM(x.amount) FILTER (WHERE x.credit_account = a.id AND x.state = 'posted'), 0) AS cpo,
                   COALESCE(SUM(x.amount) FILTER (WHERE x.credit_account = a.id AND x.state = 'pending'), 0) AS cpe
            FROM accounts a LEFT JOIN transfers x ON x.debit_account = a.id OR x.credit_account = a.id
            GROUP BY a.id)
        SELECT a.id FROM accounts a JOIN t USING (id)
        WHERE a.debits_posted <> t.dpo OR a.debits_pending <> t.dpe
           OR a.credits_posted <> t.cpo OR a.credits_pending <> t.cpe""",
    # Double entry: across all accounts, debits equal credits.
    "debits_equal_credits": """
        SELECT 'ledger' WHERE (SELECT COALESCE(SUM(debits_posted - credits_posted), 0) FROM accounts) <> 0
                           OR (SELECT COALESCE(SUM(debits_pending - credits_pending), 0) FROM accounts) <> 0""",
    # No personal account or wallet is overdrawn (the table constraint says so too).
    "nothing_overdrawn": """
        SELECT id FROM accounts WHERE kind <> 'fund' AND credits_posted - debits_posted - debits_pending < 0""",
}


async def check_books(conn: Conn) -> dict[str, list[str]]:
    """Each invariant's name with the offending ids; all lists empty = the books balance."""
    return {name: [str(r[0]) for r in await conn.fetch(sql)] for name, sql in BOOKS_QUERIES.items()}
