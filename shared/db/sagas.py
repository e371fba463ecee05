"""Sagas by state for the metrics: one grouped count over a service's own saga table."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

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
