"""Composition root of the operators' console (ADR 0019): its schema, the read model's projector, the metrics
sampler and the web pages, in one process."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
from pathlib import Path

import uvicorn

from services.console.adapters.sampler import Sampler
from services.console.entrypoints.web import Console, make_app
from services.console.projector import Projector
from shared.clock import BusinessClock
from shared.db.migrations import migrate
from shared.db.pool import connect, create_pool
from shared.logging import configure_logging, get_logger
from shared.settings import CONSOLE, PlatformSettings, refuse_unsafe_settings, state_dir

SERVICE_DIR = Path(__file__).resolve().parent
log = get_logger(__name__)


def session_secret(settings: PlatformSettings) -> str:
    if settings.console_session_secret is not None:
        return settings.console_session_secret.get_secret_value()
    path = state_dir() / "secrets" / "console-session.json"
    try:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                json.dump({"session_secret": secrets.token_urlsafe(32)}, f)
        return str(json.loads(path.read_text())["session_secret"])
    except OSError as exc:  # nowhere to keep it (a read-only container): this process's own, sessions end with it
        log.warning("console_session_secret_not_kept", error=str(exc))
        return secrets.token_urlsafe(32)


def dlq_topics() -> list[str]:
    from tools.topics import load_manifest  # the topic manifest (deploy/topics.toml) names every DLQ

    return sorted(s.name for s in load_manifest() if s.name.endswith(".dlq"))


async def prepare(settings: PlatformSettings) -> None:
    conn = await connect(settings.dsn(CONSOLE))
    try:
        await migrate(conn, CONSOLE, SERVICE_DIR)
    finally:
        await conn.close()


async def serve(settings: PlatformSettings) -> None:
    configure_logging(CONSOLE, settings.log_format, settings.log_level)
    refuse_unsafe_settings(settings, CONSOLE)  # the console's own checks join here (docs/operations.md)
    await prepare(settings)
    pool = await create_pool(settings.dsn(CONSOLE), max_size=4)
    sampler = Sampler.of(settings)
    projector = Projector(settings, pool)
    console = Console(settings, pool, sampler, dlq_topics(), BusinessClock(settings.clock_offset_seconds))
    app = make_app(console, session_secret(settings))
    tasks = [asyncio.create_task(projector.run(), name="projector"), asyncio.create_task(sampler.run(), name="sampler")]
    server = uvicorn.Server(
        uvicorn.Config(
            app, host=settings.console_host, port=settings.console_port, log_level="warning", access_log=False
        )
    )
    log.info("service_started", url=f"http://{settings.console_host}:{settings.console_port}/")
    try:
        await server.serve()
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await pool.close()
        log.info("service_stopped")
