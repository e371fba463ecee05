"""Business time: Asia/Shanghai, one clock for the whole platform (ADR 0011).

The business clock is the real time shifted by one fixed offset, `MEDAID_CLOCK_OFFSET_SECONDS` (default 0:
real time). Every service, the simulator and the operators' tools run with the same offset, so they agree on
the time; and since the offset is fixed, a restart never moves a service's business time backwards (a start
instant re-applied at each start would). The demo and the tests move the whole platform forward by choosing a
larger offset (`tools/clock.py`); each service also refuses to start on a clock behind the business time it
has already reached (`shared/messaging/migrations/0004_business_clock.sql`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

BUSINESS_TZ = ZoneInfo("Asia/Shanghai")


def real_now() -> datetime:
    return datetime.now(tz=BUSINESS_TZ)


def offset_for(instant: datetime, now: datetime | None = None) -> float:
    """The offset (seconds) that makes the business clock read `instant` now."""
    if instant.tzinfo is None:
        raise ValueError("a business instant needs its UTC offset, e.g. 2026-12-31T23:59:30+08:00")
    return (instant - (now or real_now())).total_seconds()


class BusinessClock:
    def __init__(self, offset_seconds: float = 0.0) -> None:
        self.offset_seconds = float(offset_seconds)
        self._offset = timedelta(seconds=self.offset_seconds)
        self._last: datetime | None = None

    def now(self) -> datetime:
        """Never earlier than what this clock said before: a machine clock stepped back (an NTP correction)
        holds business time still until it has caught up."""
        now = (real_now() + self._offset).astimezone(BUSINESS_TZ)
        if self._last is not None and now < self._last:
            return self._last
        self._last = now
        return now

    def today(self) -> str:
        return self.now().strftime("%Y%m%d")

    def describe(self) -> str:
        if self.offset_seconds == 0:
            return "real time (offset 0 s)"
        sign = "+" if self.offset_seconds > 0 else "-"
        return f"real time {self.offset_seconds:+.0f} s ({sign}{timedelta(seconds=round(abs(self.offset_seconds)))})"
