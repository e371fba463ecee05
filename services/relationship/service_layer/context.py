"""The unit of work a relationship use case runs in: one transaction's ports, the business clock, and the
authenticated sender it acts for (entrypoints/unit_of_work.py on PostgreSQL; adapters/memory.py in tests)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from services.relationship.service_layer.ports import Clock, People, Policies, Relationships
from shared.contracts.topics import PLATFORM_SENDER, may_ask_about, speaks_for


@dataclass(frozen=True)
class RelationshipContext:
    people: People
    relationships: Relationships
    policies: Policies
    clock: Clock
    sender: str = PLATFORM_SENDER
    """The region code whose signature the message carried (the platform's own for events, sweeps, operators)."""
    msgid: str = ""
    """The request's msgid (empty for sweeps and operators)."""
    trusted: frozenset[str] = frozenset()
    """National gateways that may speak for any region."""
    enrolment_max_ahead: timedelta = timedelta(days=31)
    """How far ahead an enrolment change may take effect."""

    def speaks_for(self, admdvs: str) -> bool:
        """Only a system of the party's insured province (or a trusted national gateway) acts for the party."""
        return speaks_for(self.sender, admdvs, self.trusted)

    def may_ask_about(self, admdvs: str | None) -> bool:
        """The sender may learn anything of a person insured in `admdvs` (None: never enrolled; only a trusted
        gateway learns that): checked before any answer that says whether they exist, are enrolled or eligible."""
        return may_ask_about(self.sender, admdvs, self.trusted)

    def now(self) -> datetime:
        return self.clock.now()
