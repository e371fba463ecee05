"""Composition root of the wallet service."""

from __future__ import annotations

from pathlib import Path

from services.wallet.entrypoints.ingress import HANDLERS
from shared.messaging.runtime import ServiceRuntime
from shared.settings import PlatformSettings

SERVICE_DIR = Path(__file__).resolve().parent


def bootstrap(settings: PlatformSettings) -> ServiceRuntime:
    return ServiceRuntime("wallet", settings, SERVICE_DIR, HANDLERS)
