"""The payment service's handlers."""

from __future__ import annotations

from services.payment.adapters.institution_repository import InstitutionRepository
from services.payment.domain import commands, events
from shared.clock import BusinessClock
from shared.contracts.topics import PAYMENT_EVENTS
from shared.messaging.consumer import Decision
from shared.messaging.outbox import Outgoing


def event(e: events.PaymentEvent, key: str) -> Outgoing:
    return e.outgoing(PAYMENT_EVENTS, key)


async def upsert_institution(
    cmd: commands.UpsertInstitution, institutions: InstitutionRepository, clock: BusinessClock
) -> Decision:
    i = cmd.institution
    if not await institutions.upsert(i):
        return Decision.completed()
    registered = events.InstitutionRegistered(
        fixmedins_code=i.fixmedins_code,
        fixmedins_name=i.fixmedins_name,
        fixmedins_type=i.fixmedins_type,
        admdvs=i.admdvs,
        wallet_enabled=i.wallet_enabled,
        occurred_at=clock.now(),
    )
    return Decision.completed([event(registered, i.admdvs)])
