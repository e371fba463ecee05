"""Composition root of the clearing service."""

from __future__ import annotations

from pathlib import Path

from services.clearing.entrypoints import payment_events
from services.clearing.entrypoints.ingress import make_handlers
from shared.contracts.topics import PAYMENT_EVENTS
from shared.messaging.runtime import ServiceRuntime
from shared.settings import PlatformSettings

SERVICE_DIR = Path(__file__).resolve().parent


def bootstrap(settings: PlatformSettings) -> ServiceRuntime:
    trusted = frozenset(s.strip() for s in settings.trusted_senders.split(",") if s.strip())
    return ServiceRuntime(
        "clearing",
        settings,
        SERVICE_DIR,
        make_handlers(trusted),
        event_handlers={PAYMENT_EVENTS: payment_events.HANDLERS},
    )
