"""The composition of a payment use case's context on PostgreSQL: one message's transaction, the business clock
and the authenticated sender (with the request's msgid)."""

from __future__ import annotations

from services.payment.adapters.answers import InboxAnswers
from services.payment.adapters.contribution_repository import ContributionStandardRepository, InsuredPeopleRepository
from services.payment.adapters.institution_repository import InstitutionRepository
from services.payment.adapters.registry_repository import RegistryRepository
from services.payment.adapters.settlement_repository import ReversalRepository, SettlementRepository
from services.payment.service_layer.context import PaymentContext
from services.payment.service_layer.ports import Clock
from shared.contracts.topics import PLATFORM_SENDER
from shared.db.pool import Conn


def postgres_context(
    conn: Conn, clock: Clock, sender: str = PLATFORM_SENDER, msgid: str = "", trusted: frozenset[str] = frozenset()
) -> PaymentContext:
    return PaymentContext(
        settlements=SettlementRepository(conn),
        reversals=ReversalRepository(conn),
        institutions=InstitutionRepository(conn),
        answers=InboxAnswers(conn),
        registry=RegistryRepository(conn),
        people=InsuredPeopleRepository(conn),
        standards=ContributionStandardRepository(conn),
        clock=clock,
        sender=sender,
        msgid=msgid,
        trusted=trusted,
    )
