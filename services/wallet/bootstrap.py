"""Composition root of the wallet service."""

from __future__ import annotations

from pathlib import Path

from services.wallet.adapters import books as adapter_books
from services.wallet.domain.commands import ExpireTransfers
from services.wallet.entrypoints import payment_events, relationship_events
from services.wallet.entrypoints.ingress import make_handlers
from services.wallet.entrypoints.unit_of_work import postgres_context
from services.wallet.service_layer.expire_transfers import expire_transfers
from shared.caller import Caller
from shared.clock import BusinessClock
from shared.contracts.topics import INGRESS_WALLET, PAYMENT_EVENTS, RELATIONSHIP_EVENTS
from shared.db.pool import Conn
from shared.messaging.outbox import Outbox
from shared.messaging.periodic import Periodic
from shared.messaging.runtime import INGRESS, ServiceRuntime
from shared.settings import PlatformSettings

SERVICE_DIR = Path(__file__).resolve().parent


async def sweep_deadlines(conn: Conn, outbox: Outbox, clock: BusinessClock) -> int:
    messages = await expire_transfers(ExpireTransfers(), postgres_context(conn, Caller(clock)))
    await outbox.enqueue(conn, messages)
    return len([m for m in messages if m.type == "wallet.quota-released"])


def bootstrap(settings: PlatformSettings) -> ServiceRuntime:
    key = settings.identity_key.get_secret_value().encode()
    trusted = settings.trusted
    return ServiceRuntime(
        "wallet",
        settings,
        SERVICE_DIR,
        make_handlers(key, trusted, settings.max_credit_amount, settings.national_operator_codes),
        sagas=adapter_books.saga_states,
        books=adapter_books.check_books_and_funds,
        periodic=[Periodic("return-expired-transfers", settings.sweep_seconds, sweep_deadlines)],
        event_handlers={
            RELATIONSHIP_EVENTS: relationship_events.HANDLERS,
            PAYMENT_EVENTS: payment_events.make_handlers(trusted),
        },
        event_failure_handlers={
            PAYMENT_EVENTS: payment_events.FAILURE_HANDLERS,
            RELATIONSHIP_EVENTS: relationship_events.FAILURE_HANDLERS,
        },
        # Judge on copies at least as new as any answer the sender saw (ADR 0012): a transfer right after its
        # relationship was confirmed, a wallet right after an enrolment, a provider's account refused to a
        # settlement right after the relationship ended. A statement, a transfer or an accept right after a
        # settlement's answer is judged with that payment (or its refund) applied.
        catch_up_with={
            INGRESS: (RELATIONSHIP_EVENTS,),
            INGRESS_WALLET: (PAYMENT_EVENTS,),
            PAYMENT_EVENTS: (RELATIONSHIP_EVENTS,),
        },
    )
