"""The books check: proves the ledger's invariants from the transfers, not from the cached balances."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from prometheus_client import Gauge

from shared.db.books import Problems, run_checks
from shared.db.pool import Conn
from shared.db.sagas import saga_readings
from shared.observability.metrics import SagaReading

_FUND_POSITIONS = """
    WITH fund_moves AS (
        SELECT a.admdvs,
               COALESCE(sum(t.amount) FILTER (WHERE t.debit_account = a.id AND t.code LIKE 'credit.%'), 0) AS credited,
               COALESCE(sum(t.amount) FILTER (WHERE t.debit_account = a.id AND t.code = 'fund.carry'), 0) AS carried_in,
               COALESCE(sum(t.amount) FILTER (WHERE t.credit_account = a.id AND t.code = 'fund.carry'), 0)
                   AS carried_out
        FROM accounts a
        LEFT JOIN transfers t ON (t.debit_account = a.id OR t.credit_account = a.id) AND t.state = 'posted'
        WHERE a.kind = 'fund' GROUP BY a.admdvs),
    held AS (
        SELECT admdvs, credits_posted - debits_posted AS in_accounts, 0 AS in_wallets, 0 AS paid
        FROM accounts WHERE kind = 'personal'
        UNION ALL SELECT funding_admdvs, 0, remaining, 0 FROM lots
        UNION ALL SELECT funding_admdvs, 0, 0, amount FROM payment_debits WHERE refund_transfer_id IS NULL),
    h AS (SELECT admdvs, sum(in_accounts) AS in_accounts, sum(in_wallets) AS in_wallets, sum(paid) AS paid
          FROM held GROUP BY admdvs)
    SELECT COALESCE(f.admdvs, h.admdvs)::text AS admdvs, COALESCE(f.credited, 0) AS credited,
           COALESCE(f.carried_in, 0) AS carried_in, COALESCE(f.carried_out, 0) AS carried_out,
           COALESCE(h.paid, 0) AS paid, COALESCE(h.in_accounts, 0) AS in_accounts,
           COALESCE(h.in_wallets, 0) AS in_wallets
    FROM fund_moves f FULL JOIN h ON h.admdvs = f.admdvs"""

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
    # Every wallet holds exactly its lots: posted quota in = remaining lots.
    "wallets_match_their_lots": """
        SELECT a.id FROM accounts a
        LEFT JOIN (SELECT wallet_psn_no, sum(remaining) AS remaining FROM lots GROUP BY wallet_psn_no) l
               ON a.id = 'wallet:' || l.wallet_psn_no
        WHERE a.kind = 'wallet' AND a.credits_posted - a.debits_posted <> COALESCE(l.remaining, 0)""",
    # Every transfer's hold is in the state its saga says: pending = held, completed = posted, returned = voided.
    "holds_match_transfers": """
        SELECT s.transfer_id FROM transfer_sagas s JOIN transfers t ON t.id = s.hold_id
        WHERE t.amount <> s.amount
           OR t.debit_account <> 'personal:' || s.from_psn_no OR t.credit_account <> 'wallet:' || s.to_psn_no
           OR t.state <> CASE s.state WHEN 'pending' THEN 'pending' WHEN 'completed' THEN 'posted' ELSE 'voided' END""",
    # Every hold belongs to a transfer saga: no money is held that nobody accounts for.
    "every_hold_has_a_transfer": """
        SELECT t.id FROM transfers t LEFT JOIN transfer_sagas s ON s.hold_id = t.id
        WHERE t.code = 'transfer.hold' AND s.transfer_id IS NULL""",
    # Every completed transfer made exactly its lot, and every lot comes from a completed transfer.
    "granted_quota_matches_lots": """
        SELECT COALESCE(s.transfer_id, l.lot_id) FROM transfer_sagas s
        FULL JOIN lots l ON l.lot_id = s.transfer_id
        WHERE (s.state = 'completed') IS DISTINCT FROM (l.lot_id IS NOT NULL) OR l.amount <> s.amount
           OR l.provider_psn_no <> s.from_psn_no OR l.wallet_psn_no <> s.to_psn_no
           OR l.relationship_id <> s.relationship_id""",
    # Per-fund conservation (ADR 0021): what each region's fund credited, plus what was carried to it, minus what it
    # carried away, equals what is attributed to it: the personal accounts that belong to it (held transfers
    # included), the quota it funded still in wallets, and what its money paid and was not given back.
    "funds_hold_what_they_issued": f"""
        WITH i AS ({_FUND_POSITIONS})
        SELECT admdvs || ': credited ' || credited || ' + carried in ' || carried_in || ' - carried out '
               || carried_out || ' - paid ' || paid || ' <> accounts ' || in_accounts || ' + wallets ' || in_wallets
        FROM i WHERE credited + carried_in - carried_out - paid <> in_accounts + in_wallets""",
    # What left a lot was spent (and not refunded) or went back to its provider when the relationship ended.
    "lots_account_for_their_quota": """
        WITH returned AS (
            SELECT split_part(t.client_id, ':', 2) AS lot_id, sum(t.amount) AS amount,
                   bool_or(t.debit_account <> 'wallet:' || l.wallet_psn_no
                           OR t.credit_account <> 'personal:' || l.provider_psn_no) AS misdirected
            FROM transfers t JOIN lots l ON l.lot_id = split_part(t.client_id, ':', 2)
            WHERE t.code = 'quota.return' GROUP BY 1),
        spent AS (
            SELECT lot_id, sum(amount) AS amount FROM payment_debits
            WHERE lot_id IS NOT NULL AND refund_transfer_id IS NULL GROUP BY lot_id)
        SELECT l.lot_id FROM lots l
        LEFT JOIN returned r USING (lot_id) LEFT JOIN spent s USING (lot_id)
        WHERE l.amount - l.remaining <> COALESCE(r.amount, 0) + COALESCE(s.amount, 0) OR r.misdirected""",
    # Every source a payment took from is a posted transfer to the spending region, and every refund is
    # the same amount straight back.
    "payment_debits_match_transfers": """
        SELECT d.setl_id || ':' || d.seq FROM payment_debits d
        JOIN transfers t ON t.id = d.transfer_id
        LEFT JOIN transfers r ON r.id = d.refund_transfer_id
        WHERE t.state <> 'posted' OR t.amount <> d.amount OR t.debit_account <> d.account_id
           OR t.credit_account <> 'spent:' || d.spending_admdvs
           OR (r.id IS NOT NULL AND (r.state <> 'posted' OR r.amount <> d.amount
               OR r.debit_account <> t.credit_account OR r.credit_account <> t.debit_account))""",
    # What a region's spending account holds is exactly what payments there took and did not give back.
    "spending_matches_payments": """
        SELECT a.id FROM accounts a
        LEFT JOIN (SELECT spending_admdvs, sum(amount) AS amount FROM payment_debits
                   WHERE refund_transfer_id IS NULL GROUP BY spending_admdvs) d ON a.id = 'spent:' || d.spending_admdvs
        WHERE a.kind = 'spending' AND a.credits_posted - a.debits_posted <> COALESCE(d.amount, 0)""",
    # A refused payment took nothing; a refunded one gave back everything; a debited one has nothing refunded.
    "payments_match_their_state": """
        SELECT p.setl_id FROM payments p LEFT JOIN payment_debits d USING (setl_id)
        GROUP BY p.setl_id, p.state
        HAVING (p.state = 'refused' AND count(d.seq) > 0)
            OR (p.state = 'refunded' AND bool_or(d.seq IS NOT NULL AND d.refund_transfer_id IS NULL))
            OR (p.state = 'debited' AND bool_or(d.refund_transfer_id IS NOT NULL))""",
    # When a relationship has ended, none of its quota stays in the recipient's wallet.
    "ended_relationships_leave_no_quota": """
        SELECT l.lot_id FROM lots l JOIN relationships r USING (relationship_id)
        WHERE NOT r.established AND l.remaining > 0""",
    # The statements: every movement is one the ledger made, to the fen, and the ledger made no other. Rebuilt
    # from the transfers: a hold is out of the personal account (and back if voided, or into the wallet if
    # posted); any other posted transfer moves both of its sides.
    "movements_match_the_ledger": """
        WITH expected AS (
            SELECT t.id, t.debit_account AS account_id, 'transfer_out' AS kind, -t.amount AS amount
            FROM transfers t WHERE t.code = 'transfer.hold'
            UNION ALL
            SELECT t.id, t.debit_account, 'transfer_returned', t.amount
            FROM transfers t WHERE t.code = 'transfer.hold' AND t.state = 'voided'
            UNION ALL
            SELECT t.id, t.credit_account, 'transfer_in', t.amount
            FROM transfers t WHERE t.code = 'transfer.hold' AND t.state = 'posted'
            UNION ALL
            SELECT t.id, t.debit_account,
                   CASE WHEN t.code = 'quota.return' THEN 'quota_returned'
                        WHEN p.purpose = 'contribution' THEN 'contribution' ELSE 'payment' END, -t.amount
            FROM transfers t LEFT JOIN payment_debits d ON d.transfer_id = t.id LEFT JOIN payments p USING (setl_id)
            WHERE t.code <> 'transfer.hold'
            UNION ALL
            SELECT t.id, t.credit_account,
                   CASE WHEN t.code = 'quota.return' THEN 'quota_returned'
                        WHEN t.code = 'pay.refund' THEN 'payment_cancelled' ELSE 'credit' END, t.amount
            FROM transfers t WHERE t.code <> 'transfer.hold'),
        member AS (
            SELECT e.* FROM expected e JOIN accounts a ON a.id = e.account_id WHERE a.kind IN ('personal', 'wallet'))
        SELECT COALESCE(e.id, m.ledger_transfer_id)::text || ' ' || COALESCE(e.account_id, m.account_id)
        FROM member e FULL JOIN movements m
          ON m.ledger_transfer_id = e.id AND m.account_id = e.account_id AND m.kind = e.kind
        WHERE e.id IS NULL OR m.id IS NULL OR m.amount <> e.amount""",
    # Each movement's balance_after is the sum of the account's movements up to it (so, with the check above,
    # of the ledger's), and the last one is the account's balance now.
    "movements_add_up_to_the_balance": """
        WITH run AS (
            SELECT id, account_id, balance_after,
                   sum(amount) OVER (PARTITION BY account_id ORDER BY id) AS rebuilt,
                   row_number() OVER (PARTITION BY account_id ORDER BY id DESC) AS from_last
            FROM movements)
        SELECT 'movement ' || id FROM run WHERE rebuilt <> balance_after
        UNION ALL
        SELECT a.id FROM accounts a LEFT JOIN run r ON r.account_id = a.id AND r.from_last = 1
        WHERE a.kind IN ('personal', 'wallet')
          AND COALESCE(r.balance_after, 0) <> a.credits_posted - a.debits_posted - a.debits_pending""",
    # No personal account or wallet is overdrawn (the table constraint says so too).
    "nothing_overdrawn": """
        SELECT id FROM accounts WHERE kind <> 'fund' AND credits_posted - debits_posted - debits_pending < 0""",
}


FUND_POSITION = Gauge(
    "medaid_fund_position_yuan",
    "Per region's fund (ADR 0021): what it issued (credited + carried in - carried out) and what is attributed to it "
    "(paid + in personal accounts + in wallets); per-fund conservation says the two are equal",
    ["admdvs", "side"],
)


async def check_books(conn: Conn) -> Problems:
    return await run_checks(conn, BOOKS_QUERIES)


async def check_books_and_funds(conn: Conn) -> Problems:
    """The books checks, and each fund's position in the metrics (the console shows them)."""
    for f in await fund_positions(conn):
        FUND_POSITION.labels(f.admdvs, "issued").set(float(f.credited + f.carried_in - f.carried_out))
        FUND_POSITION.labels(f.admdvs, "attributed").set(float(f.paid + f.in_accounts + f.in_wallets))
    return await check_books(conn)


async def spending_by_region_pair(conn: Conn) -> dict[tuple[str, str], str]:
    """Money spent and not refunded, by (funding region, spending region): the wallet's side of the
    platform's conservation check (tools/books.py)."""
    rows = await conn.fetch(
        """SELECT funding_admdvs, spending_admdvs, sum(amount) AS amount FROM payment_debits
           WHERE refund_transfer_id IS NULL GROUP BY 1, 2"""
    )
    return {(r["funding_admdvs"], r["spending_admdvs"]): str(r["amount"]) for r in rows}


async def carried_by_region_pair(conn: Conn) -> dict[tuple[str, str], Decimal]:
    """Personal-account money carried from one fund to another, by (giving region, receiving region): what clearing
    must hold the giving region owing besides its payments (tools/books.py)."""
    rows = await conn.fetch(
        """SELECT g.admdvs AS giving, r.admdvs AS receiving, sum(t.amount) AS amount FROM transfers t
           JOIN accounts g ON g.id = t.credit_account JOIN accounts r ON r.id = t.debit_account
           WHERE t.code = 'fund.carry' AND t.state = 'posted' GROUP BY 1, 2"""
    )
    return {(r["giving"], r["receiving"]): r["amount"] for r in rows}


@dataclass(frozen=True)
class FundPosition:
    """One region's fund in the wallet's ledger (per-fund conservation: credited + carried_in - carried_out - paid =
    in_accounts + in_wallets)."""

    admdvs: str
    credited: Decimal
    carried_in: Decimal
    carried_out: Decimal
    paid: Decimal
    in_accounts: Decimal
    in_wallets: Decimal

    @property
    def balanced(self) -> bool:
        return self.credited + self.carried_in - self.carried_out - self.paid == self.in_accounts + self.in_wallets


async def fund_positions(conn: Conn) -> list[FundPosition]:
    rows = await conn.fetch(f"SELECT * FROM ({_FUND_POSITIONS}) p ORDER BY admdvs")
    return [FundPosition(**dict(r)) for r in rows]


async def spent_by_settlement(conn: Conn) -> dict[str, Decimal]:
    """Per payment (setl_id), what it took and kept: for the per-settlement conservation check."""
    rows = await conn.fetch(
        """SELECT p.setl_id, COALESCE(sum(d.amount) FILTER (WHERE d.refund_transfer_id IS NULL), 0) AS amount
           FROM payments p LEFT JOIN payment_debits d USING (setl_id) WHERE p.state <> 'refused' GROUP BY p.setl_id"""
    )
    return {r["setl_id"]: r["amount"] for r in rows}


async def saga_states(conn: Conn, now: datetime) -> list[SagaReading]:
    """Transfers and wallet payments by state, for the metrics."""
    transfers = await saga_readings(
        conn,
        saga="transfer",
        table="transfer_sagas",
        state_column="state",
        since_column="requested_at",
        states=("pending", "completed", "returned"),
        open_states=("pending",),
        now=now,
    )
    payments = await saga_readings(
        conn,
        saga="wallet_payment",
        table="payments",
        state_column="state",
        since_column="debited_at",
        states=("debited", "refused", "refunded"),
        open_states=(),
        now=now,
    )
    return transfers + payments
