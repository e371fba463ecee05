"""A wallet use case's context on PostgreSQL: the `Caller` it acts for and the ports of one transaction (its
connection)."""

from __future__ import annotations

from services.wallet.adapters.ledger_repository import AccountIncrements, LedgerRepository
from services.wallet.adapters.payment_repository import PaymentRepository
from services.wallet.adapters.statement_repository import StatementRepository
from services.wallet.adapters.transfer_repository import PostgresQuotaTransfers
from services.wallet.adapters.wallet_repository import WalletRepository
from services.wallet.service_layer.context import WalletContext
from shared.caller import Caller
from shared.db.pool import Conn
from shared.messaging.consumer import BeforeCommit


def postgres_context(conn: Conn, caller: Caller, end: BeforeCommit | None = None) -> WalletContext:
    """`end`: the kernel's transaction, whose end adds the hot accounts' changes; without it they are added at once."""
    return WalletContext(
        caller,
        members=WalletRepository(conn),
        transfers=PostgresQuotaTransfers(conn),
        ledger=LedgerRepository(conn, None if end is None else end.part(AccountIncrements)),
        payments=PaymentRepository(conn),
        statements=StatementRepository(conn),
    )
