"""SQL for what operators look at about settlements (services/payment/entrypoints/settlements_cli.py): read-only,
outside the service layer (no use case changes anything through these)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.db.pool import Conn
from shared.db.sagas import saga_listing


async def settlement_counts(conn: Conn) -> list[dict[str, Any]]:
    """Per purpose and state: how many, and their personal part."""
    rows = await conn.fetch(
        """SELECT purpose, state, count(*) AS n, sum(psn_part_amt) AS amount
           FROM settlements GROUP BY 1, 2 ORDER BY 1, 2"""
    )
    return [dict(r) for r in rows]


async def settlement_listing(
    conn: Conn, state: str | None, older_than_minutes: float | None, limit: int, now: datetime
) -> list[dict[str, Any]]:
    """Newest first; of a state, or requested at least so long before `now` (business time)."""
    select = """SELECT setl_id, purpose, state, psn_no, fixmedins_code, psn_part_amt, acct_pay, acct_mulaid_pay,
                       wallet_pay, psn_cash_pay, refusal_code, requested_at FROM settlements"""
    return await saga_listing(conn, select, state, older_than_minutes, limit, now)


async def settlement_details(conn: Conn, setl_id: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The settlement's row and what each source paid, by seq (None and [] when there is no such settlement)."""
    s = await conn.fetchrow("SELECT * FROM settlements WHERE setl_id = $1", setl_id)
    portions = await conn.fetch("SELECT * FROM settlement_portions WHERE setl_id = $1 ORDER BY seq", setl_id)
    return (None if s is None else dict(s)), [dict(p) for p in portions]
