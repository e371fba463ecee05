"""Composition root of the payment service."""

from __future__ import annotations

from pathlib import Path

from services.payment.adapters import books as adapter_books
from services.payment.adapters.settlement_repository import SettlementRepository
from services.payment.entrypoints import relationship_events, wallet_events
from services.payment.entrypoints.ingress import make_handlers
from shared.clock import BusinessClock
from shared.contracts.topics import INGRESS_REGISTRY, INGRESS_SETTLEMENT, RELATIONSHIP_EVENTS, WALLET_EVENTS
from shared.db.pool import Conn
from shared.logging import get_logger
from shared.messaging.outbox import Outbox
from shared.messaging.periodic import Periodic
from shared.messaging.runtime import ServiceRuntime
from shared.settings import PlatformSettings

SERVICE_DIR = Path(__file__).resolve().parent
log = get_logger(__name__)
WAITING_AFTER_SECONDS = 60.0


async def warn_of_waiting_settlements(conn: Conn, outbox: Outbox, clock: BusinessClock) -> int:
    """A settlement whose answer waits for the wallet for over a minute is an operator's business (the wallet
    is down or dead-lettered the request: see payment.events.v1.wallet.dlq)."""
    waiting = await SettlementRepository(conn).waiting(clock.now(), WAITING_AFTER_SECONDS)
    for setl_id, state, seconds in waiting:
        log.warning("settlement_waiting_for_wallet", setl_id=setl_id, state=state, seconds=round(seconds))
    return 0


def bootstrap(settings: PlatformSettings) -> ServiceRuntime:
    key = settings.identity_key.get_secret_value().encode()
    trusted = settings.trusted
    return ServiceRuntime(
        "payment",
        settings,
        SERVICE_DIR,
        make_handlers(key, trusted),
        sagas=adapter_books.saga_states,
        books=adapter_books.check_books,
        periodic=[Periodic("warn-of-waiting-settlements", 30.0, warn_of_waiting_settlements)],
        event_handlers={WALLET_EVENTS: wallet_events.HANDLERS, RELATIONSHIP_EVENTS: relationship_events.HANDLERS},
        event_failure_handlers={WALLET_EVENTS: wallet_events.FAILURE_HANDLERS},
        # A listing asked right after a region was switched shows the switch (ADR 0012); a contribution asked right
        # after its insured person's enrolment (or move) is judged by the region the province was answered about
        # (ADR 0022): the settlement topic waits for the copy of relationship.events.v1.
        catch_up_with={INGRESS_REGISTRY: (WALLET_EVENTS,), INGRESS_SETTLEMENT: (RELATIONSHIP_EVENTS,)},
    )
