"""The unit of work a payment use case runs in: one transaction's ports, the business clock, and the
authenticated sender it acts for (entrypoints/unit_of_work.py on PostgreSQL; adapters/memory.py in tests)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.payment.service_layer.ports import (
    Answers,
    Clock,
    ContributionStandards,
    Institutions,
    InsuredPeople,
    Registry,
    Reversals,
    Settlements,
)
from shared.contracts.topics import PLATFORM_SENDER, may_ask_about, speaks_for


@dataclass(frozen=True)
class PaymentContext:
    settlements: Settlements
    reversals: Reversals
    institutions: Institutions
    answers: Answers
    registry: Registry
    people: InsuredPeople
    standards: ContributionStandards
    clock: Clock
    sender: str = PLATFORM_SENDER
    msgid: str = ""
    """The request's msgid (empty for events and sweeps)."""
    trusted: frozenset[str] = frozenset()

    def speaks_for(self, admdvs: str) -> bool:
        """Only a system of the party's province (or a trusted national gateway) acts for the party."""
        return speaks_for(self.sender, admdvs, self.trusted)

    def may_ask_about(self, admdvs: str | None) -> bool:
        """The sender may learn anything of a person insured in `admdvs` (None: never enrolled; only a trusted
        gateway learns that): checked before any answer that says whether they exist or are enrolled."""
        return may_ask_about(self.sender, admdvs, self.trusted)

    def now(self) -> datetime:
        return self.clock.now()
