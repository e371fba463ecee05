"""The composition of a clearing use case's context on PostgreSQL: one message's transaction, the business clock
and the authenticated sender (with the request's msgid)."""

from __future__ import annotations

from services.clearing.adapters.clearing_repository import MonthRepository, ObligationRepository, StatementRepository
from services.clearing.service_layer.context import ClearingContext
from services.clearing.service_layer.ports import Clock
from shared.contracts.topics import PLATFORM_SENDER
from shared.db.pool import Conn


def postgres_context(
    conn: Conn,
    clock: Clock,
    sender: str = PLATFORM_SENDER,
    msgid: str = "",
    trusted: frozenset[str] = frozenset(),
    national_operators: frozenset[str] = frozenset(),
) -> ClearingContext:
    return ClearingContext(
        obligations=ObligationRepository(conn),
        months=MonthRepository(conn),
        statements=StatementRepository(conn),
        clock=clock,
        sender=sender,
        msgid=msgid,
        trusted=trusted,
        national_operators=national_operators,
    )
