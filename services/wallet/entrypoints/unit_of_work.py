"""The composition of a wallet use case's context on PostgreSQL: one message's transaction (its connection),
the business clock and the authenticated sender (with the request's msgid)."""

from __future__ import annotations

from services.wallet.adapters.ledger_repository import LedgerRepository
from services.wallet.adapters.payment_repository import PaymentRepository
from services.wallet.adapters.statement_repository import StatementRepository
from services.wallet.adapters.transfer_repository import PostgresQuotaTransfers
from services.wallet.adapters.wallet_repository import WalletRepository
from services.wallet.service_layer.context import WalletContext
from services.wallet.service_layer.ports import Clock
from shared.contracts.topics import PLATFORM_SENDER
from shared.db.pool import Conn


def postgres_context(
    conn: Conn,
    clock: Clock,
    sender: str = PLATFORM_SENDER,
    trusted: frozenset[str] = frozenset(),
    national_operators: frozenset[str] = frozenset(),
    msgid: str = "",
) -> WalletContext:
    return WalletContext(
        members=WalletRepository(conn),
        transfers=PostgresQuotaTransfers(conn),
        ledger=LedgerRepository(conn),
        payments=PaymentRepository(conn),
        statements=StatementRepository(conn),
        clock=clock,
        sender=sender,
        msgid=msgid,
        trusted=trusted,
        national_operators=national_operators,
    )
