"""Business time in unit and port tests (shared.caller.Clock): it moves only when a test moves it."""

from __future__ import annotations

from datetime import datetime, timedelta


class FixedClock:
    """Business time that moves only when a test moves it."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> datetime:
        self.at += timedelta(**delta)
        return self.at
