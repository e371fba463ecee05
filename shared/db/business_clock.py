"""Each service's record of its business clock (table `business_clock` in its own schema).

At start-up a service records the offset it runs with and checks it against the latest business time it has
reached: a clock behind it would move business time backwards (a smaller offset, or a machine clock stepped
back), so the start is refused. A step back of a few seconds (an NTP correction) is waited out instead. While
it runs, the service advances `reached` every second; operators read it with `make clock`.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import asyncpg

from shared.clock import BusinessClock, real_now
from shared.db.pool import Conn

WAIT_OUT_SECONDS = 5.0
"""A clock behind by at most this much waits until it has caught up; further behind, the start is refused."""


class ClockBehindError(RuntimeError):
    """The configured business clock is behind the business time this service has already reached."""


async def start_business_clock(conn: Conn, clock: BusinessClock) -> datetime:
    """Check and record the clock at start-up; returns the business time the service starts at."""
    reached: datetime | None = await conn.fetchval("SELECT reached FROM business_clock")
    now = clock.now()
    if reached is not None and now < reached:
        behind = (reached - now).total_seconds()
        if behind > WAIT_OUT_SECONDS:
            raise ClockBehindError(
                f"the business clock ({clock.describe()}) reads {now.isoformat()}, {behind:.0f} s behind "
                f"{reached.isoformat()} that this service has already reached: business time never moves "
                "backwards. Start it with the platform's offset (make clock shows it), or on a fresh database."
            )
        await asyncio.sleep(behind)
        now = clock.now()
    await conn.execute(
        """INSERT INTO business_clock (offset_seconds, started_at, reached) VALUES ($1, $2, $3)
           ON CONFLICT (singleton) DO UPDATE SET offset_seconds = EXCLUDED.offset_seconds,
               started_at = EXCLUDED.started_at, reached = greatest(business_clock.reached, EXCLUDED.reached)""",
        clock.offset_seconds,
        real_now(),
        now,
    )
    return now


async def mark_reached(conn: Conn, clock: BusinessClock) -> None:
    await conn.execute("UPDATE business_clock SET reached = greatest(reached, $1)", clock.now())


async def recorded_clock(conn: Conn) -> dict[str, Any] | None:
    """The service's record, or None when it has never started on a version that keeps one."""
    try:
        row = await conn.fetchrow("SELECT offset_seconds, started_at, reached FROM business_clock")
    except asyncpg.UndefinedTableError:
        return None
    return dict(row) if row is not None else None


async def clock_of_service(conn: Conn, fallback_offset: float) -> BusinessClock:
    """For an operator's command that acts as a service (a close, a policy change, ages of sagas): the clock
    the service runs with, as it recorded it; `fallback_offset` (the settings) only if it never started."""
    recorded = await recorded_clock(conn)
    return BusinessClock(recorded["offset_seconds"] if recorded is not None else fallback_offset)
