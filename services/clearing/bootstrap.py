"""Composition root of the clearing service."""

from __future__ import annotations

from pathlib import Path

from services.clearing.entrypoints.ingress import HANDLERS
from shared.messaging.runtime import ServiceRuntime
from shared.settings import PlatformSettings

SERVICE_DIR = Path(__file__).resolve().parent


def bootstrap(settings: PlatformSettings) -> ServiceRuntime:
    return ServiceRuntime("clearing", settings, SERVICE_DIR, HANDLERS)
