"""The clearing service's FastStream application."""

from __future__ import annotations

from faststream import FastStream

from services.clearing.bootstrap import bootstrap
from shared.settings import PlatformSettings


def create_app(settings: PlatformSettings | None = None) -> FastStream:
    return bootstrap(settings or PlatformSettings()).app()
