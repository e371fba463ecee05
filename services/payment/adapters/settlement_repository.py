"""SQL for settlements and contributions (the Settlement aggregate), their portions and the reversals: the
PostgreSQL side of the Settlements and Reversals ports (services/payment/service_layer/ports.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.payment.domain.settlements import Portion, Purpose, Reversal, Settlement, State, UndoKind
from shared.db.pool import Conn

_FIXED = (
    "setl_id", "purpose", "sender", "msgid", "psn_no", "payer_psn_no", "institution_admdvs", "psn_part_amt",
    "acct_used_flag", "use_wallet", "setl_time", "requested_at", "mdtrt_id", "fixmedins_code", "med_type",
    "medfee_sumamt", "fund_pay_sumamt", "insutype", "year",
)  # fmt: skip
_CHANGING = (
    "state", "acct_pay", "acct_mulaid_pay", "wallet_pay", "psn_cash_pay", "balc", "wallet_balc", "refusal_code",
    "undo_kind", "undo_sender", "undo_msgid", "undo_requested_at", "completed_at", "cancelled_at",
)  # fmt: skip
_COLUMNS = ", ".join((*_FIXED, *_CHANGING))


def _settlement(r: Any) -> Settlement:
    row = dict(r)
    row["purpose"], row["state"] = Purpose(row["purpose"]), State(row["state"])
    row["undo_kind"] = None if row["undo_kind"] is None else UndoKind(row["undo_kind"])
    return Settlement(**row)


def _value(v: Any) -> Any:
    return v.value if isinstance(v, Purpose | State | UndoKind) else v


class SettlementRepository:
    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def add(self, settlement: Settlement) -> None:
        names = (*_FIXED, "state")
        values = ", ".join(f"${i}" for i in range(1, len(names) + 1))
        await self.conn.execute(
            f"INSERT INTO settlements ({', '.join(names)}) VALUES ({values})",
            *(_value(getattr(settlement, n)) for n in names),
        )

    async def add_contribution(self, contribution: Settlement) -> str | None:
        names = (*_FIXED, "state")
        values = ", ".join(f"${i}" for i in range(1, len(names) + 1))
        for _ in range(3):  # the holder can end between the two statements: then the year is free again
            added = await self.conn.fetchval(
                f"""INSERT INTO settlements ({", ".join(names)}, yearly) VALUES ({values}, true)
                    ON CONFLICT (psn_no, insutype, year)
                        WHERE yearly AND state IN ('debiting', 'completed', 'cancelling')
                    DO NOTHING RETURNING setl_id""",
                *(_value(getattr(contribution, n)) for n in names),
            )
            if added is not None:
                return None
            holder: str | None = await self.conn.fetchval(
                """SELECT setl_id FROM settlements WHERE psn_no = $1 AND insutype = $2 AND year = $3 AND yearly
                   AND state IN ('debiting', 'completed', 'cancelling')""",
                contribution.psn_no,
                contribution.insutype,
                contribution.year,
            )
            if holder is not None:
                return holder
        raise RuntimeError(f"contribution {contribution.setl_id}: the year neither held nor free (retried)")

    async def get_for_update(self, setl_id: str) -> Settlement | None:
        row = await self.conn.fetchrow(f"SELECT {_COLUMNS} FROM settlements WHERE setl_id = $1 FOR UPDATE", setl_id)
        return None if row is None else _settlement(row)

    async def by_msgid_for_update(self, sender: str, msgid: str) -> Settlement | None:
        row = await self.conn.fetchrow(
            f"SELECT {_COLUMNS} FROM settlements WHERE sender = $1 AND msgid = $2 FOR UPDATE", sender, msgid
        )
        return None if row is None else _settlement(row)

    async def save(self, settlement: Settlement) -> None:
        sets = ", ".join(f"{k} = ${i}" for i, k in enumerate(_CHANGING, start=2))
        await self.conn.execute(
            f"UPDATE settlements SET {sets} WHERE setl_id = $1",
            settlement.setl_id,
            *(_value(getattr(settlement, k)) for k in _CHANGING),
        )
        if settlement.new_portions:
            await self.conn.executemany(
                """INSERT INTO settlement_portions (setl_id, seq, source, payer_psn_no, lot_id, funding_admdvs,
                       spending_admdvs, amount) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
                [
                    (settlement.setl_id, x.seq, x.source, x.payer_psn_no, x.lot_id, x.funding_admdvs,
                     x.spending_admdvs, x.amount)
                    for x in settlement.new_portions
                ],
            )  # fmt: skip
            settlement.new_portions = []

    async def portions_of(self, setl_id: str) -> list[Portion]:
        rows = await self.conn.fetch(
            """SELECT seq, source, payer_psn_no, lot_id, funding_admdvs, spending_admdvs, amount
               FROM settlement_portions WHERE setl_id = $1 ORDER BY seq""",
            setl_id,
        )
        return [Portion(**dict(r)) for r in rows]

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


class ReversalRepository:
    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def serialize_on(self, sender: str, msgid: str) -> None:
        await self.conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 7))", f"{sender}:{msgid}")

    async def of(self, sender: str, omsgid: str) -> Reversal | None:
        row = await self.conn.fetchrow(
            "SELECT otype, reversal_msgid, outcome, setl_id FROM reversals WHERE sender = $1 AND omsgid = $2",
            sender,
            omsgid,
        )
        return None if row is None else Reversal(**dict(row))

    async def record(self, sender: str, omsgid: str, reversal: Reversal, at: datetime) -> None:
        await self.conn.execute(
            """INSERT INTO reversals (sender, omsgid, otype, reversal_msgid, outcome, setl_id, at)
               VALUES ($1, $2, $3, $4, $5, $6, $7)""",
            sender,
            omsgid,
            reversal.otype,
            reversal.reversal_msgid,
            reversal.outcome,
            reversal.setl_id,
            at,
        )

    async def set_outcome(self, sender: str, omsgid: str, outcome: str) -> None:
        await self.conn.execute(
            "UPDATE reversals SET outcome = $3 WHERE sender = $1 AND omsgid = $2", sender, omsgid, outcome
        )
