"""Composition root of the relationship service."""

from __future__ import annotations

from pathlib import Path

from services.relationship.entrypoints.ingress import make_handlers
from shared.messaging.runtime import ServiceRuntime
from shared.settings import PlatformSettings

SERVICE_DIR = Path(__file__).resolve().parent


def bootstrap(settings: PlatformSettings) -> ServiceRuntime:
    key = settings.identity_key.get_secret_value().encode()
    return ServiceRuntime("relationship", settings, SERVICE_DIR, make_handlers(key))
