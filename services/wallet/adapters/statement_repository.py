"""SQL for the member's statement: balances, quota by funding region, the movements of a date range and the
freeze history. The person's accounts are read FOR SHARE first, so what follows agrees with those balances
(a change to either account waits until the statement is written). The Statements port
(services/wallet/service_layer/ports.py)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from services.wallet.domain.ledger import personal_account_id, wallet_account_id
from services.wallet.domain.statements import FreezeRecord, Movement
from shared.db.pool import Conn


class StatementRepository:
    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def balances(self, psn_no: str) -> dict[str, Decimal]:
        """'personal' and 'wallet' -> what may be spent now (holds counted), for the accounts the person has."""
        rows = await self.conn.fetch(
            """SELECT kind, credits_posted - debits_posted - debits_pending AS balance FROM accounts
               WHERE id = ANY($1::text[]) ORDER BY id FOR SHARE""",
            [personal_account_id(psn_no), wallet_account_id(psn_no)],
        )
        return {r["kind"]: r["balance"] for r in rows}

    async def quota(self, psn_no: str) -> list[tuple[str, Decimal]]:
        rows = await self.conn.fetch(
            """SELECT funding_admdvs, sum(remaining) AS amount FROM lots
               WHERE wallet_psn_no = $1 AND remaining > 0 GROUP BY funding_admdvs ORDER BY funding_admdvs""",
            psn_no,
        )
        return [(r["funding_admdvs"], r["amount"]) for r in rows]

    async def movements(self, psn_no: str, start: datetime, end: datetime, after_id: int, limit: int) -> list[Movement]:
        """Movements at [start, end), oldest first (in the order they happened), after the cursor's id."""
        rows = await self.conn.fetch(
            """SELECT id, at, kind, account, amount, balance_after, transfer_id, setl_id FROM movements
               WHERE psn_no = $1 AND id > $4 AND at >= $2 AND at < $3 ORDER BY id LIMIT $5""",
            psn_no,
            start,
            end,
            after_id,
            limit,
        )
        return [Movement(**dict(r)) for r in rows]

    async def freezes(self, psn_no: str, start: datetime, end: datetime, limit: int) -> list[FreezeRecord]:
        """The last `limit` freeze requests at [start, end), oldest first."""
        rows = await self.conn.fetch(
            """SELECT at, action, changed, reason, sender FROM freeze_history
               WHERE psn_no = $1 AND at >= $2 AND at < $3 ORDER BY seq DESC LIMIT $4""",
            psn_no,
            start,
            end,
            limit,
        )
        return [FreezeRecord(**dict(r)) for r in reversed(rows)]
