"""Business time: Asia/Shanghai, readable from one place so tests and the simulator can run any hour.

`MEDAID_CLOCK_START` (ISO 8601, e.g. 2026-11-23T09:00:00+08:00) makes the clock start at that
instant when the process starts and then run at real speed; `MEDAID_CLOCK_OFFSET_SECONDS` shifts
real time by a fixed amount. With neither, the clock is the real time.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

BUSINESS_TZ = ZoneInfo("Asia/Shanghai")


class BusinessClock:
    def __init__(self, start: datetime | None = None, offset_seconds: float = 0.0) -> None:
        if start is not None and start.tzinfo is None:
            raise ValueError("clock start needs an offset, e.g. +08:00")
        self._offset = timedelta(seconds=offset_seconds)
        if start is not None:
            self._offset += start - datetime.now(tz=BUSINESS_TZ)
        self._mono0 = time.monotonic()

    def now(self) -> datetime:
        return (datetime.now(tz=BUSINESS_TZ) + self._offset).astimezone(BUSINESS_TZ)

    def today(self) -> str:
        return self.now().strftime("%Y%m%d")
