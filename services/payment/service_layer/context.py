"""The unit of work a payment use case runs in: the `Caller` it acts for and one transaction's ports (built by
entrypoints/unit_of_work.py on PostgreSQL, adapters/memory.py in tests)."""

from __future__ import annotations

from dataclasses import dataclass

from services.payment.service_layer.ports import (
    Answers,
    ContributionStandards,
    Institutions,
    InsuredPeople,
    Registry,
    Reversals,
    Settlements,
)
from shared.caller import Caller


@dataclass(frozen=True)
class PaymentContext:
    caller: Caller
    settlements: Settlements
    reversals: Reversals
    institutions: Institutions
    answers: Answers
    registry: Registry
    people: InsuredPeople
    standards: ContributionStandards
