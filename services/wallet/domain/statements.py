"""The member's statement (interface v1.1): what it lists and how it pages. Pure.

Balances and quota are those of now; movements are those of the business dates asked (Asia/Shanghai), oldest
first, a page at a time; the cursor is the last movement's number on the previous page. Counterparts are never
named: quota is shown by funding region, movements by their transfer or settlement id."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Literal

from shared.clock import BUSINESS_TZ
from shared.contracts.province import MovementKind

PAGE = 500
FREEZES = 100
"""At most this many freezes (the range's last) on the first page: a page stays well inside a Kafka record."""
ZERO_BALANCE = Decimal("0.00")


@dataclass(frozen=True)
class Movement:
    """A change to a member's spendable balance (the `movements` the ledger writes with each transfer)."""

    id: int
    at: datetime
    kind: MovementKind
    account: Literal["wallet", "personal"]
    amount: Decimal
    balance_after: Decimal
    transfer_id: str | None
    setl_id: str | None


@dataclass(frozen=True)
class FreezeRecord:
    """One freeze or unfreeze request, as the freeze history keeps it."""

    at: datetime
    action: Literal["frozen", "unfrozen"]
    changed: bool
    reason: str
    sender: str


_CURSOR = re.compile(r"[0-9]{1,18}", re.ASCII)


def after_cursor(cursor: str | None) -> int | None:
    """The movement number a page starts after (0: the first page); None when it is not a cursor this platform
    gave."""
    if cursor is None:
        return 0
    # ASCII digits only: str.isdigit and int() also take Arabic-Indic and full-width ones
    return int(cursor) if _CURSOR.fullmatch(cursor) else None


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=BUSINESS_TZ)
