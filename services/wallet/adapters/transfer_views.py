"""SQL for what operators look at about transfers (services/wallet/entrypoints/transfers_cli.py): read-only, outside
the service layer (no use case changes anything through these)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.db.pool import Conn
from shared.db.sagas import saga_listing


async def transfer_counts(conn: Conn) -> list[dict[str, Any]]:
    """Per state: how many transfers, and their amount."""
    rows = await conn.fetch("SELECT state, count(*) AS n, sum(amount) AS amount FROM transfer_sagas GROUP BY 1")
    return [dict(r) for r in rows]


async def transfer_listing(
    conn: Conn, state: str | None, older_than_minutes: float | None, limit: int, now: datetime
) -> list[dict[str, Any]]:
    """Newest first, with their age at `now` (business time); of a state, or requested at least so long ago."""
    select = """SELECT transfer_id, state, return_reason, from_psn_no, to_psn_no, amount, requested_at, deadline,
                       $4::timestamptz - requested_at AS age
                FROM transfer_sagas"""
    return await saga_listing(conn, select, state, older_than_minutes, limit, now)


async def transfer_history(conn: Conn, transfer_id: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The transfer's row and its steps, in order (None and [] when there is no such transfer)."""
    saga = await conn.fetchrow("SELECT * FROM transfer_sagas WHERE transfer_id = $1", transfer_id)
    steps = await conn.fetch(
        "SELECT seq, at, step, detail FROM transfer_steps WHERE transfer_id = $1 ORDER BY seq", transfer_id
    )
    return (None if saga is None else dict(saga)), [dict(s) for s in steps]
