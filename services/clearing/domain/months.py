"""A clearing month and what closing it freezes; a region's statement of a closed month and its answers. Pure.

A month closes once it has ended (business time), once only; closing freezes its pair totals and one statement
per region (the database keeps them frozen). A region answers its statement: confirmed or disputed, and may
answer again (the latest answer stands; every answer is kept)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from services.clearing.domain import events
from services.clearing.domain.clearing import has_ended
from shared.contracts.reasons import ReasonCode


class ClearingStateError(Exception):
    """A transition asked of a month or a statement that does not allow it."""


@dataclass(frozen=True)
class Refusal:
    code: ReasonCode
    reason: str


@dataclass(frozen=True)
class MonthTotals:
    """What closing a month freezes: its items, their sum (forward minus reverse), the pairs of regions and
    the statements (one per region with an item)."""

    items: int
    gross: Decimal
    pairs: int
    statements: int


@dataclass
class Month:
    """A business month (YYYYMM): open until closed."""

    period: str
    closed_at: datetime | None = None
    closed_by: str | None = None
    totals: MonthTotals | None = None
    """What this unit of work froze when it closed the month (not read back)."""

    @property
    def closed(self) -> bool:
        return self.closed_at is not None

    def refusal_to_close(self, now: datetime) -> Refusal | None:
        if self.closed:
            return Refusal(ReasonCode.PERIOD_CLOSED, f"{self.period} is closed already")
        if not has_ended(self.period, now):
            return Refusal(ReasonCode.PERIOD_NOT_ENDED, f"{self.period} has not ended (business time {now:%Y-%m-%d})")
        return None

    def close(self, totals: MonthTotals, now: datetime, closed_by: str) -> events.MonthClosed:
        refusal = self.refusal_to_close(now)
        if refusal is not None:
            raise ClearingStateError(refusal.reason)
        self.closed_at, self.closed_by, self.totals = now, closed_by, totals
        return events.MonthClosed(
            period=self.period,
            items=totals.items,
            pairs=totals.pairs,
            statements=totals.statements,
            gross=totals.gross,
            occurred_at=now,
        )


class Answer(StrEnum):
    ISSUED = "issued"  # not answered yet
    CONFIRMED = "confirmed"
    DISPUTED = "disputed"


@dataclass(frozen=True)
class Line:
    """A statement's line: what the region owes one counterpart region, and is owed by it."""

    counterpart: str
    owes: Decimal
    owed: Decimal

    @property
    def net(self) -> Decimal:
        return self.owed - self.owes


@dataclass(frozen=True)
class StatementAnswer:
    sender: str
    msgid: str
    answer: Answer
    reason: str | None
    at: datetime


@dataclass
class Statement:
    """One region's statement of a closed month (its totals frozen with the month)."""

    statement_id: str
    period: str
    admdvs: str
    owes: Decimal
    owed: Decimal
    net: Decimal
    answer: Answer = Answer.ISSUED
    lines: tuple[Line, ...] = ()
    new_answers: list[StatementAnswer] = field(default_factory=list)
    """Answers given in this unit of work, for the repository to keep (one per sender and msgid)."""

    def confirm(self, admdvs: str, sender: str, msgid: str, at: datetime) -> events.StatementAnswered:
        return self._answer(admdvs, Answer.CONFIRMED, None, sender, msgid, at)

    def dispute(self, admdvs: str, reason: str, sender: str, msgid: str, at: datetime) -> events.StatementAnswered:
        return self._answer(admdvs, Answer.DISPUTED, reason, sender, msgid, at)

    def _answer(
        self, admdvs: str, answer: Answer, reason: str | None, sender: str, msgid: str, at: datetime
    ) -> events.StatementAnswered:
        if admdvs != self.admdvs:
            raise ClearingStateError(f"statement {self.statement_id} is {self.admdvs}'s, not {admdvs}'s to answer")
        self.answer = answer
        self.new_answers.append(StatementAnswer(sender, msgid, answer, reason, at))
        return events.StatementAnswered(
            statement_id=self.statement_id,
            period=self.period,
            admdvs=self.admdvs,
            answer=answer.value,
            reason=reason,
            occurred_at=at,
        )
