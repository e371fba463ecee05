"""Sagas by state: for the metrics, one grouped count over a service's own saga table; for the operators' CLIs, the
newest of a state or waiting for so long."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from shared.db.pool import Conn
from shared.observability.metrics import SagaReading


async def saga_readings(
    conn: Conn,
    *,
    saga: str,
    table: str,
    state_column: str,
    since_column: str,
    states: Sequence[str],
    open_states: Sequence[str],
    now: datetime,
) -> list[SagaReading]:
    """Every state (0 when none), and for the open ones the business-time age of the oldest. The table and column
    names are the adapters' own constants, never input."""
    rows = await conn.fetch(
        f"""SELECT s.state, count(t.{state_column}) AS n,
                   extract(epoch FROM $2::timestamptz - min(t.{since_column})) AS age
            FROM unnest($1::text[]) AS s(state) LEFT JOIN {table} t ON t.{state_column} = s.state
            GROUP BY s.state""",
        list(states),
        now,
    )
    return [
        SagaReading(
            saga,
            r["state"],
            r["n"],
            (max(float(r["age"]), 0.0) if r["age"] is not None else 0.0) if r["state"] in open_states else None,
        )
        for r in rows
    ]


async def saga_listing(
    conn: Conn, select: str, state: str | None, older_than_minutes: float | None, limit: int, now: datetime
) -> list[dict[str, Any]]:
    """Newest first, at most `limit`; of a state, or requested at least so long before `now` (business time).
    `select` is an adapter's own `SELECT ... FROM` of a saga table with `state` and `requested_at` (never input);
    it may read `now` as $4."""
    rows = await conn.fetch(
        f"""{select}
           WHERE ($1::text IS NULL OR state = $1)
             AND ($2::float8 IS NULL OR requested_at <= $4::timestamptz - make_interval(secs => $2::float8 * 60))
           ORDER BY requested_at DESC LIMIT $3""",
        state,
        older_than_minutes,
        limit,
        now,
    )
    return [dict(r) for r in rows]
