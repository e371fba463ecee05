"""What the clearing service is asked to do (imperative). Who asks is the context's sender."""

from __future__ import annotations

from dataclasses import dataclass

from services.clearing.domain.obligations import Direction, Portion


@dataclass(frozen=True)
class RecordObligations:
    """payment.payment-completed (forward) or payment.payment-cancelled (reverse): its cross-region portions
    become obligations."""

    setl_id: str
    purpose: str
    month: str
    """The payment's own business month."""
    portions: tuple[Portion, ...]
    direction: Direction


@dataclass(frozen=True)
class CloseMonth:
    """clearing.close-requested: the national operator closes an ended month."""

    period: str


@dataclass(frozen=True)
class CloseMonthNow:
    """An operator at the console (or a benchmark) closes an ended month without a message."""

    period: str
    closed_by: str


@dataclass(frozen=True)
class CloseOnSchedule:
    """The schedule closes last month once it has been over for `after_days` days, if nobody did."""

    after_days: int


@dataclass(frozen=True)
class ConfirmStatement:
    statement_id: str
    admdvs: str


@dataclass(frozen=True)
class DisputeStatement:
    statement_id: str
    admdvs: str
    reason: str
