"""Who a use case acts for: the authenticated sender of one message (or the platform itself, for events, sweeps and
operators), its msgid, the senders trusted to speak for any region, and the business clock. Pure data: every
service's context holds one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from shared.contracts.topics import PLATFORM_SENDER, may_ask_about, speaks_for


class Clock(Protocol):
    def now(self) -> datetime: ...


@dataclass(frozen=True)
class Caller:
    clock: Clock
    sender: str = PLATFORM_SENDER
    """The region code whose signature the message carried (the platform's own for events, sweeps, operators; for a
    payment the wallet takes, the province that asked the payment service for it)."""
    msgid: str = ""
    """The request's msgid (empty for events, sweeps and operators)."""
    trusted: frozenset[str] = frozenset()
    """National gateways that may speak for any region."""
    national_operators: frozenset[str] = frozenset()
    """Sender codes of the national operator (MEDAID_NATIONAL_OPERATORS)."""

    def speaks_for(self, admdvs: str) -> bool:
        """Only a system of the party's insured province (or a trusted national gateway) acts for the party."""
        return speaks_for(self.sender, admdvs, self.trusted)

    def may_ask_about(self, admdvs: str | None) -> bool:
        """The sender may learn anything of a person insured in `admdvs` (None: never enrolled; only a trusted
        gateway learns that): checked before any answer that says whether they exist, are enrolled, eligible or
        frozen."""
        return may_ask_about(self.sender, admdvs, self.trusted)

    @property
    def national(self) -> bool:
        """The sender is the national operator."""
        return self.sender in self.national_operators

    def now(self) -> datetime:
        return self.clock.now()
