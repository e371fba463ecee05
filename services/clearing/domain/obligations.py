"""Obligations: each cross-region portion of a payment (forward) or of its cancellation (reverse) is owed by
the funding region (debtor) to the spending region (creditor) in one business month. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from services.clearing.domain import events
from services.clearing.domain.clearing import item_id

CARRY = "carry"
"""The source and purpose of an obligation that is no payment: personal-account money one fund carried over to
another (a member moved, a sibling region credited; ADR 0021). The fund that held it (the debtor) owes the fund that
holds it now (the creditor)."""


class Direction(StrEnum):
    FORWARD = "forward"  # a payment
    REVERSE = "reverse"  # its cancellation


@dataclass(frozen=True)
class Portion:
    """What one source of a payment paid, and which region's fund supplied it."""

    seq: int
    source: str
    funding_admdvs: str
    spending_admdvs: str
    amount: Decimal

    @property
    def crosses_regions(self) -> bool:
        """Spent where it was funded, a portion has nothing to clear."""
        return self.funding_admdvs != self.spending_admdvs


@dataclass(frozen=True)
class Obligation:
    """One item of a month: what the debtor's fund owes the creditor region for one portion."""

    setl_id: str
    seq: int
    direction: Direction
    period: str
    natural_month: str
    debtor_admdvs: str
    creditor_admdvs: str
    amount: Decimal
    source: str
    purpose: str
    recorded_at: datetime

    @classmethod
    def of(
        cls, setl_id: str, portion: Portion, direction: Direction, period: str, natural_month: str, purpose: str,
        at: datetime,
    ) -> Obligation:  # fmt: skip
        if not portion.crosses_regions:
            raise ValueError(f"portion {setl_id}:{portion.seq} was spent where it was funded: nothing is owed")
        return cls(
            setl_id=setl_id,
            seq=portion.seq,
            direction=direction,
            period=period,
            natural_month=natural_month,
            debtor_admdvs=portion.funding_admdvs,
            creditor_admdvs=portion.spending_admdvs,
            amount=portion.amount,
            source=portion.source,
            purpose=purpose,
            recorded_at=at,
        )

    @property
    def item_id(self) -> str:
        return item_id(self.setl_id, self.seq, self.direction is Direction.FORWARD)

    @property
    def signed(self) -> Decimal:
        """What it adds to its month: a cancellation takes its payment's amount back."""
        return self.amount if self.direction is Direction.FORWARD else -self.amount

    def recorded(self) -> events.ObligationRecorded:
        return events.ObligationRecorded(
            item_id=self.item_id,
            setl_id=self.setl_id,
            direction=self.direction.value,
            period=self.period,
            natural_month=self.natural_month,
            debtor_admdvs=self.debtor_admdvs,
            creditor_admdvs=self.creditor_admdvs,
            amount=self.amount,
            occurred_at=self.recorded_at,
        )
