"""The unit of work a wallet use case runs in: one transaction's ports, the business clock, and the
authenticated sender it acts for (entrypoints build it: adapters/postgres.py, or adapters/memory.py in tests)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.wallet.service_layer.ports import Clock, Ledger, Members, Payments, QuotaTransfers, Statements
from shared.contracts.topics import PLATFORM_SENDER, may_ask_about, speaks_for


@dataclass(frozen=True)
class WalletContext:
    members: Members
    transfers: QuotaTransfers
    ledger: Ledger
    payments: Payments
    statements: Statements
    clock: Clock
    sender: str = PLATFORM_SENDER
    """The region code whose signature the message carried (the platform's own for events and sweeps; for a
    payment, the province that asked the payment service for it)."""
    msgid: str = ""
    """The request's msgid (empty for events and sweeps)."""
    trusted: frozenset[str] = frozenset()
    """National gateways that may speak for any region."""
    national_operators: frozenset[str] = frozenset()

    def speaks_for(self, admdvs: str) -> bool:
        """Only a system of the party's insured province (or a trusted national gateway) acts for the party."""
        return speaks_for(self.sender, admdvs, self.trusted)

    def may_ask_about(self, admdvs: str | None) -> bool:
        """The sender may learn anything of a person insured in `admdvs` (None: never enrolled; only a trusted
        gateway learns that): checked before any answer that says whether they exist, are enrolled or frozen."""
        return may_ask_about(self.sender, admdvs, self.trusted)

    @property
    def national(self) -> bool:
        """The sender is the national operator."""
        return self.sender in self.national_operators

    def now(self) -> datetime:
        return self.clock.now()
