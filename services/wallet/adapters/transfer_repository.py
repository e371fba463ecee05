"""SQL for the transfer sagas (QuotaTransfer) and their timelines: the PostgreSQL side of the QuotaTransfers
port (services/wallet/service_layer/ports.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.wallet.domain.transfers import QuotaTransfer, ReturnReason, State
from shared.db.pool import Conn

_COLUMNS = """transfer_id, from_psn_no, to_psn_no, relationship_id, amount, from_admdvs, to_admdvs, requested_at,
              deadline, state, return_reason, resolved_at"""


def _transfer(r: Any) -> QuotaTransfer:
    return QuotaTransfer(
        transfer_id=r["transfer_id"],
        from_psn_no=r["from_psn_no"],
        to_psn_no=r["to_psn_no"],
        relationship_id=r["relationship_id"],
        amount=r["amount"],
        from_admdvs=r["from_admdvs"],
        to_admdvs=r["to_admdvs"],
        requested_at=r["requested_at"],
        deadline=r["deadline"],
        state=State(r["state"]),
        return_reason=None if r["return_reason"] is None else ReturnReason(r["return_reason"]),
        resolved_at=r["resolved_at"],
    )


class PostgresQuotaTransfers:
    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def add(self, transfer: QuotaTransfer) -> None:
        t = transfer
        await self.conn.execute(
            """INSERT INTO transfer_sagas (transfer_id, from_psn_no, to_psn_no, relationship_id, amount, state,
                   business_day, requested_at, deadline, hold_id, from_admdvs, to_admdvs)
               VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $8, $9, $10, $11)""",
            t.transfer_id,
            t.from_psn_no,
            t.to_psn_no,
            t.relationship_id,
            t.amount,
            t.business_day,
            t.requested_at,
            t.deadline,
            t.hold_id,
            t.from_admdvs,
            t.to_admdvs,
        )
        await self._write_steps(t, t.requested_at)

    async def get_for_update(self, transfer_id: str) -> QuotaTransfer | None:
        r = await self.conn.fetchrow(
            f"SELECT {_COLUMNS} FROM transfer_sagas WHERE transfer_id = $1 FOR UPDATE", transfer_id
        )
        return None if r is None else _transfer(r)

    async def save(self, transfer: QuotaTransfer) -> None:
        t = transfer
        status = await self.conn.execute(
            """UPDATE transfer_sagas SET state = $2, return_reason = $3, resolved_at = $4
               WHERE transfer_id = $1 AND state = 'pending'""",
            t.transfer_id,
            t.state.value,
            None if t.return_reason is None else t.return_reason.value,
            t.resolved_at,
        )
        if status != "UPDATE 1":
            raise RuntimeError(f"transfer {t.transfer_id} was not pending: {status}")
        await self._write_steps(t, t.resolved_at or t.requested_at)

    async def _write_steps(self, t: QuotaTransfer, at: datetime) -> None:
        """The new timeline lines, numbered on from the transfer's last."""
        if not t.new_steps:
            return
        await self.conn.execute(
            """INSERT INTO transfer_steps (transfer_id, seq, at, step, detail)
               SELECT $1, (SELECT COALESCE(max(seq), 0) FROM transfer_steps WHERE transfer_id = $1) + u.n, $2, u.step,
                      u.detail
               FROM unnest($3::text[], $4::text[]) WITH ORDINALITY AS u(step, detail, n)""",
            t.transfer_id,
            at,
            [st[0] for st in t.new_steps],
            [st[1] for st in t.new_steps],
        )
        t.new_steps.clear()

    async def parties(self, transfer_id: str) -> tuple[str, str] | None:
        r = await self.conn.fetchrow(
            "SELECT from_psn_no, to_psn_no FROM transfer_sagas WHERE transfer_id = $1", transfer_id
        )
        return None if r is None else (r["from_psn_no"], r["to_psn_no"])

    async def overdue_between(self, from_psn_no: str, to_psn_no: str, now: datetime) -> QuotaTransfer | None:
        r = await self.conn.fetchrow(
            f"""SELECT {_COLUMNS} FROM transfer_sagas WHERE from_psn_no = $1 AND to_psn_no = $2
                AND state = 'pending' AND deadline <= $3 FOR UPDATE""",
            from_psn_no,
            to_psn_no,
            now,
        )
        return None if r is None else _transfer(r)

    async def pending_past(self, now: datetime, limit: int) -> list[QuotaTransfer]:
        rows = await self.conn.fetch(
            f"""SELECT {_COLUMNS} FROM transfer_sagas WHERE state = 'pending' AND deadline <= $1
                ORDER BY deadline LIMIT $2 FOR UPDATE SKIP LOCKED""",
            now,
            limit,
        )
        return [_transfer(r) for r in rows]

    async def pending_of_relationship(self, relationship_id: str) -> list[QuotaTransfer]:
        rows = await self.conn.fetch(
            f"""SELECT {_COLUMNS} FROM transfer_sagas WHERE relationship_id = $1 AND state = 'pending'
                ORDER BY transfer_id FOR UPDATE""",
            relationship_id,
        )
        return [_transfer(r) for r in rows]

    async def pending_of(self, psn_no: str) -> list[QuotaTransfer]:
        rows = await self.conn.fetch(
            f"""SELECT {_COLUMNS} FROM transfer_sagas WHERE state = 'pending' AND (to_psn_no = $1 OR from_psn_no = $1)
                ORDER BY transfer_id FOR UPDATE""",
            psn_no,
        )
        return [_transfer(r) for r in rows]
