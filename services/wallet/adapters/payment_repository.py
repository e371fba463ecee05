"""SQL for payments taken from wallets and personal accounts, and their refunds (the Payments port,
services/wallet/service_layer/ports.py)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from services.wallet.domain.payments import Debit, LotLeft, PaymentState, SourceKind, TakenPayment
from shared.db.pool import Conn


class PaymentRepository:
    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def payment_of(self, setl_id: str) -> TakenPayment | None:
        row = await self.conn.fetchrow("SELECT psn_no, state FROM payments WHERE setl_id = $1 FOR UPDATE", setl_id)
        return None if row is None else TakenPayment(setl_id, row["psn_no"], PaymentState(row["state"]))

    async def unspent_lots(self, wallet_psn_no: str) -> list[LotLeft]:
        """The wallet's lots with quota left, oldest first, locked (before any account: the lock order)."""
        rows = await self.conn.fetch(
            """SELECT lot_id, provider_psn_no, funding_admdvs, remaining FROM lots
               WHERE wallet_psn_no = $1 AND remaining > 0 ORDER BY created_at, lot_id FOR UPDATE""",
            wallet_psn_no,
        )
        return [LotLeft(r["lot_id"], r["provider_psn_no"], r["funding_admdvs"], r["remaining"]) for r in rows]

    async def record_payment(
        self, setl_id: str, purpose: str, psn_no: str, state: PaymentState, refusal_code: str | None, at: datetime
    ) -> None:
        await self.conn.execute(
            """INSERT INTO payments (setl_id, purpose, psn_no, state, refusal_code, debited_at)
               VALUES ($1, $2, $3, $4, $5, $6)""",
            setl_id,
            purpose,
            psn_no,
            state.value,
            refusal_code,
            at,
        )

    async def record_debit(self, setl_id: str, debit: Debit, transfer_id: uuid.UUID) -> None:
        await self.conn.execute(
            """INSERT INTO payment_debits (setl_id, seq, source, payer_psn_no, account_id, lot_id, funding_admdvs,
                   spending_admdvs, amount, transfer_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)""",
            setl_id,
            debit.seq,
            debit.source.value,
            debit.payer_psn_no,
            debit.account_id,
            debit.lot_id,
            debit.funding_admdvs,
            debit.spending_admdvs,
            debit.amount,
            transfer_id,
        )
        if debit.lot_id is not None:
            await self.conn.execute(
                "UPDATE lots SET remaining = remaining - $2 WHERE lot_id = $1", debit.lot_id, debit.amount
            )

    async def debits_of(self, setl_id: str) -> list[Debit]:
        rows = await self.conn.fetch(
            """SELECT d.seq, d.source, d.payer_psn_no, d.account_id, d.lot_id, d.funding_admdvs, d.spending_admdvs,
                      d.amount, l.relationship_id, l.wallet_psn_no, l.provider_psn_no
               FROM payment_debits d LEFT JOIN lots l USING (lot_id)
               WHERE d.setl_id = $1 ORDER BY d.seq""",
            setl_id,
        )
        return [
            Debit(
                seq=r["seq"],
                source=SourceKind(r["source"]),
                payer_psn_no=r["payer_psn_no"],
                account_id=r["account_id"],
                lot_id=r["lot_id"],
                funding_admdvs=r["funding_admdvs"],
                spending_admdvs=r["spending_admdvs"],
                amount=r["amount"],
                relationship_id=r["relationship_id"],
                wallet_psn_no=r["wallet_psn_no"],
                provider_psn_no=r["provider_psn_no"],
            )
            for r in rows
        ]

    async def lock_lots(self, lot_ids: list[str]) -> None:
        await self.conn.execute(
            "SELECT 1 FROM lots WHERE lot_id = ANY($1::text[]) ORDER BY created_at, lot_id FOR UPDATE", lot_ids
        )

    async def record_refund(
        self, setl_id: str, seq: int, lot_id: str | None, amount: Decimal, refund: uuid.UUID
    ) -> None:
        await self.conn.execute(
            "UPDATE payment_debits SET refund_transfer_id = $3 WHERE setl_id = $1 AND seq = $2", setl_id, seq, refund
        )
        if lot_id is not None:
            await self.conn.execute("UPDATE lots SET remaining = remaining + $2 WHERE lot_id = $1", lot_id, amount)

    async def mark_refunded(self, setl_id: str, at: datetime) -> None:
        await self.conn.execute(
            "UPDATE payments SET state = 'refunded', refunded_at = $2 WHERE setl_id = $1 AND state = 'debited'",
            setl_id,
            at,
        )

    async def relationship_ended(self, relationship_id: str) -> bool:
        value = await self.conn.fetchval(
            "SELECT NOT established FROM relationships WHERE relationship_id = $1", relationship_id
        )
        return bool(value)

    async def record_refund_returned(self, lot_id: str, amount: Decimal) -> None:
        """Refunded quota of an ended relationship went on to the provider: it leaves the lot again."""
        await self.conn.execute("UPDATE lots SET remaining = remaining - $2 WHERE lot_id = $1", lot_id, amount)
