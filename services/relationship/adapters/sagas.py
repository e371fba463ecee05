"""Relationships by status, for the metrics: pending bind requests are open."""

from __future__ import annotations

from datetime import datetime

from shared.db.pool import Conn
from shared.db.sagas import saga_readings
from shared.observability.metrics import SagaReading


async def saga_states(conn: Conn, now: datetime) -> list[SagaReading]:
    return await saga_readings(
        conn,
        saga="relationship",
        table="relationships",
        state_column="status",
        since_column="requested_at",
        states=("pending", "established", "ended"),
        open_states=("pending",),
        now=now,
    )
