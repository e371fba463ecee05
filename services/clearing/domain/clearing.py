"""Monthly clearing: which month an obligation belongs to, statements per region. Pure.

Every fen spent in a region other than the one whose fund supplied it is an obligation of the funding
region (debtor) to the spending region (creditor) for a business month (Asia/Shanghai). A payment
counts in its own month; its cancellation nets in the month the payment was counted in, or, when that
month is closed, in the first open month after it (RULES.md section 5).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def next_month(period: str) -> str:
    year, month = int(period[:4]), int(period[4:])
    return f"{year + month // 12}{month % 12 + 1:02d}"


def month_of(at: datetime) -> str:
    return at.astimezone(SHANGHAI).strftime("%Y%m")


def first_open_month(target: str, closed: Collection[str]) -> str:
    """The month an obligation joins: its target month, but never a month before the latest closed one (so a
    statement already issued is never followed by a change to an earlier month), and never a closed one."""
    period = max(target, next_month(max(closed))) if closed else target
    while period in closed:
        period = next_month(period)
    return period


def has_ended(period: str, now: datetime) -> bool:
    return period < month_of(now)


def item_id(setl_id: str, seq: int, forward: bool) -> str:
    return f"{setl_id}:{seq}:{'f' if forward else 'r'}"


def previous_month(period: str) -> str:
    year, month = int(period[:4]), int(period[4:])
    return f"{year - 1}12" if month == 1 else f"{year}{month - 1:02d}"


def due_for_closing(now: datetime, after_days: int) -> str | None:
    """The month a schedule closes now: last month, once `after_days` days of this month have passed."""
    local = now.astimezone(SHANGHAI)
    return previous_month(month_of(now)) if local.day > after_days else None
