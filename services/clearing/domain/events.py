"""Events on clearing.events.v1."""

from __future__ import annotations

from pydantic import AwareDatetime, Field

from shared.contracts.envelope import Admdvs, Period
from shared.contracts.events import DomainEvent
from shared.contracts.topics import CLEARING_EVENTS
from shared.money import Money


class ClearingEvent(DomainEvent):
    """An event of the clearing service."""

    STREAM = CLEARING_EVENTS


class ObligationRecorded(ClearingEvent):
    """A cross-region portion of a payment (forward) or of its cancellation (reverse) joined a month."""

    TYPE = "clearing.obligation-recorded"

    item_id: str
    setl_id: str
    direction: str = Field(description="forward (payment) or reverse (cancellation)")
    period: Period
    natural_month: Period
    debtor_admdvs: Admdvs = Field(description="the funding region, whose fund pays")
    creditor_admdvs: Admdvs = Field(description="the spending region")
    amount: Money
    occurred_at: AwareDatetime


class MonthClosed(ClearingEvent):
    """A month was closed: its totals per pair of regions and one statement per region are final."""

    TYPE = "clearing.month-closed"

    period: Period
    items: int
    pairs: int
    statements: int
    gross: Money = Field(description="sum over all items, forward minus reverse")
    occurred_at: AwareDatetime


class StatementAnswered(ClearingEvent):
    """A region confirmed or disputed its statement."""

    TYPE = "clearing.statement-answered"

    statement_id: str
    period: Period
    admdvs: Admdvs
    answer: str = Field(description="confirmed or disputed")
    reason: str | None = None
    occurred_at: AwareDatetime


EVENTS: tuple[type[ClearingEvent], ...] = (ObligationRecorded, MonthClosed, StatementAnswered)
