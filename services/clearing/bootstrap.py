"""Composition root of the clearing service."""

from __future__ import annotations

from pathlib import Path

from services.clearing.adapters import books as adapter_books
from services.clearing.domain import commands
from services.clearing.entrypoints import payment_events, wallet_events
from services.clearing.entrypoints.ingress import make_handlers
from services.clearing.entrypoints.unit_of_work import postgres_context
from services.clearing.service_layer.close_on_schedule import close_on_schedule
from shared.caller import Caller
from shared.clock import BusinessClock
from shared.contracts.topics import PAYMENT_EVENTS, WALLET_EVENTS
from shared.db.pool import Conn
from shared.messaging.outbox import Outbox
from shared.messaging.periodic import Periodic
from shared.messaging.runtime import INGRESS, ServiceRuntime
from shared.settings import PlatformSettings

SERVICE_DIR = Path(__file__).resolve().parent


def scheduled_close(after_days: int, seconds: float) -> Periodic:
    async def run(conn: Conn, outbox: Outbox, clock: BusinessClock) -> int:
        decision = await close_on_schedule(commands.CloseOnSchedule(after_days), postgres_context(conn, Caller(clock)))
        if decision is None:
            return 0
        await outbox.enqueue(conn, decision.messages)
        return 1

    return Periodic("close-ended-month", seconds, run)


def bootstrap(settings: PlatformSettings) -> ServiceRuntime:
    trusted = settings.trusted
    after_days = settings.clearing_close_after_days
    return ServiceRuntime(
        "clearing",
        settings,
        SERVICE_DIR,
        make_handlers(trusted, settings.national_operator_codes),
        sagas=adapter_books.saga_states,
        books=adapter_books.check_books,
        periodic=[scheduled_close(after_days, settings.sweep_seconds)] if after_days is not None else [],
        event_handlers={PAYMENT_EVENTS: payment_events.HANDLERS, WALLET_EVENTS: wallet_events.HANDLERS},
        # A close requested right after a settlement was answered, or a move, counts it (ADR 0012).
        catch_up_with={INGRESS: (PAYMENT_EVENTS, WALLET_EVENTS)},
    )
