"""Composition root of the relationship service."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg

from services.relationship.adapters import sagas as adapter_sagas
from services.relationship.adapters.people_repository import hash_stored_names
from services.relationship.domain.commands import ExpireBindRequests
from services.relationship.entrypoints.ingress import make_handlers
from services.relationship.entrypoints.startup import seed_policies, upgrade_policies
from services.relationship.entrypoints.unit_of_work import postgres_context
from services.relationship.service_layer.expire_bind_requests import expire_bind_requests
from shared.caller import Caller
from shared.clock import BusinessClock
from shared.db.pool import Conn
from shared.messaging.outbox import Outbox
from shared.messaging.periodic import Periodic
from shared.messaging.runtime import ServiceRuntime
from shared.settings import PlatformSettings

SERVICE_DIR = Path(__file__).resolve().parent


async def sweep_bind_requests(conn: Conn, outbox: Outbox, clock: BusinessClock) -> int:
    messages = await expire_bind_requests(ExpireBindRequests(), postgres_context(conn, Caller(clock)))
    await outbox.enqueue(conn, messages)
    return len([m for m in messages if m.type == "relationship.relationship-ended"])


def bootstrap(settings: PlatformSettings) -> ServiceRuntime:
    key = settings.identity_key.get_secret_value().encode()

    async def upgrade(pool: asyncpg.Pool[Any]) -> None:
        await hash_stored_names(pool, key)
        clock = BusinessClock(settings.clock_offset_seconds)
        await upgrade_policies(pool, Outbox("relationship", "relationship", clock), clock)

    return ServiceRuntime(
        "relationship",
        settings,
        SERVICE_DIR,
        make_handlers(key, settings.trusted, timedelta(days=settings.enrolment_max_days_ahead)),
        sagas=adapter_sagas.saga_states,
        on_start=[seed_policies, upgrade],
        periodic=[Periodic("expire-bind-requests", settings.sweep_seconds, sweep_bind_requests)],
    )
