"""The unit of work a clearing use case runs in: one transaction's ports, the business clock, and the
authenticated sender it acts for (entrypoints/unit_of_work.py on PostgreSQL; adapters/memory.py in tests)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.clearing.service_layer.ports import Clock, Months, Obligations, Statements
from shared.contracts.topics import PLATFORM_SENDER, speaks_for


@dataclass(frozen=True)
class ClearingContext:
    obligations: Obligations
    months: Months
    statements: Statements
    clock: Clock
    sender: str = PLATFORM_SENDER
    """The region code whose signature the message carried (the platform's own for events, sweeps, the CLI)."""
    msgid: str = ""
    """The request's msgid (empty for events and sweeps)."""
    trusted: frozenset[str] = frozenset()
    """National gateways that may speak for any region."""
    national_operators: frozenset[str] = frozenset()

    def speaks_for(self, admdvs: str) -> bool:
        """Only a system of the region's province (or a trusted national gateway) acts for the region."""
        return speaks_for(self.sender, admdvs, self.trusted)

    @property
    def national(self) -> bool:
        """The sender is the national operator (MEDAID_NATIONAL_OPERATORS)."""
        return self.sender in self.national_operators

    def now(self) -> datetime:
        return self.clock.now()
