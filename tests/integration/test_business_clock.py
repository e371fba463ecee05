"""A service's business time never moves backwards: its start on a clock behind what it reached is refused."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.clock import BusinessClock
from shared.db.business_clock import ClockBehindError, mark_reached, recorded_clock, start_business_clock
from shared.db.migrations import migrate
from shared.db.pool import connect
from shared.settings import PlatformSettings

pytestmark = pytest.mark.integration


async def test_a_restart_on_the_same_offset_goes_on_and_one_behind_what_was_reached_is_refused(
    settings: PlatformSettings,
) -> None:
    conn = await connect(settings.dsn("clearing"))
    try:
        await migrate(conn, "clearing", None)
        ahead = BusinessClock(timedelta(days=40).total_seconds())
        started = await start_business_clock(conn, ahead)
        await mark_reached(conn, ahead)
        recorded = await recorded_clock(conn)
        assert recorded is not None
        assert recorded["offset_seconds"] == ahead.offset_seconds
        assert recorded["reached"] >= started

        again = await start_business_clock(conn, BusinessClock(ahead.offset_seconds))
        assert again >= started, "a restart on the same offset starts where it was, or later"

        with pytest.raises(ClockBehindError, match="never moves backwards"):
            await start_business_clock(conn, BusinessClock())  # real time: 40 days back
        still = await recorded_clock(conn)
        assert still is not None
        assert still["offset_seconds"] == ahead.offset_seconds, "a refused start records nothing"

        a_little_behind = BusinessClock(ahead.offset_seconds - 0.5)  # an NTP step: waited out
        resumed = await start_business_clock(conn, a_little_behind)
        assert resumed >= still["reached"]
    finally:
        await conn.close()
