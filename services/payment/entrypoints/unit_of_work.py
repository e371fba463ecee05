"""A payment use case's context on PostgreSQL: the `Caller` it acts for and the ports of one transaction (its
connection)."""

from __future__ import annotations

from services.payment.adapters.answers import InboxAnswers
from services.payment.adapters.contribution_repository import ContributionStandardRepository, InsuredPeopleRepository
from services.payment.adapters.institution_repository import InstitutionRepository
from services.payment.adapters.registry_repository import RegistryRepository
from services.payment.adapters.settlement_repository import ReversalRepository, SettlementRepository
from services.payment.service_layer.context import PaymentContext
from shared.caller import Caller
from shared.db.pool import Conn


def postgres_context(conn: Conn, caller: Caller) -> PaymentContext:
    return PaymentContext(
        caller,
        settlements=SettlementRepository(conn),
        reversals=ReversalRepository(conn),
        institutions=InstitutionRepository(conn),
        answers=InboxAnswers(conn),
        registry=RegistryRepository(conn),
        people=InsuredPeopleRepository(conn),
        standards=ContributionStandardRepository(conn),
    )
