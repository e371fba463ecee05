"""Composition root of the payment service."""

from __future__ import annotations

from pathlib import Path

from services.payment.entrypoints import wallet_events
from services.payment.entrypoints.ingress import make_handlers
from shared.contracts.topics import WALLET_EVENTS
from shared.messaging.runtime import ServiceRuntime
from shared.settings import PlatformSettings

SERVICE_DIR = Path(__file__).resolve().parent


def bootstrap(settings: PlatformSettings) -> ServiceRuntime:
    key = settings.identity_key.get_secret_value().encode()
    trusted = frozenset(s.strip() for s in settings.trusted_senders.split(",") if s.strip())
    return ServiceRuntime(
        "payment",
        settings,
        SERVICE_DIR,
        make_handlers(key, trusted),
        event_handlers={WALLET_EVENTS: wallet_events.HANDLERS},
    )
