"""A clearing use case's context on PostgreSQL: the `Caller` it acts for and the ports of one transaction (its
connection)."""

from __future__ import annotations

from services.clearing.adapters.clearing_repository import MonthRepository, ObligationRepository, StatementRepository
from services.clearing.service_layer.context import ClearingContext
from shared.caller import Caller
from shared.db.pool import Conn


def postgres_context(conn: Conn, caller: Caller) -> ClearingContext:
    return ClearingContext(
        caller,
        obligations=ObligationRepository(conn),
        months=MonthRepository(conn),
        statements=StatementRepository(conn),
    )
