"""The unit of work a wallet use case runs in: the `Caller` it acts for and one transaction's ports (built by
entrypoints/unit_of_work.py on PostgreSQL, adapters/memory.py in tests)."""

from __future__ import annotations

from dataclasses import dataclass

from services.wallet.service_layer.ports import Ledger, Members, Payments, QuotaTransfers, Statements
from shared.caller import Caller


@dataclass(frozen=True)
class WalletContext:
    caller: Caller
    """For a payment the wallet takes: the province that asked the payment service for it."""
    members: Members
    transfers: QuotaTransfers
    ledger: Ledger
    payments: Payments
    statements: Statements
