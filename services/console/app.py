"""Composition root of the operators' console (ADR 0019): its schema, the read model's projector, the metrics
sampler and the web pages, in one process."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import uvicorn

from services.console.adapters.passwords import Passwords
from services.console.adapters.sampler import Sampler
from services.console.entrypoints.web import Console, make_app
from services.console.projector import Projector
from services.console.service_layer.first_operator import ensure_first_operator
from services.console.settings import password_file, problems
from shared.clock import BusinessClock
from shared.db.migrations import migrate
from shared.db.pool import connect, create_pool
from shared.logging import configure_logging, get_logger
from shared.settings import CONSOLE, PlatformSettings, refuse_unsafe_settings

SERVICE_DIR = Path(__file__).resolve().parent
log = get_logger(__name__)


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
    refuse_unsafe_settings(settings, CONSOLE, problems)  # the platform's checks and the console's own, by name
    await prepare(settings)
    # The projector has a pool of its own: however many requests the pages get, it keeps a connection.
    pool = await create_pool(settings.dsn(CONSOLE), max_size=4)
    projector_pool = await create_pool(settings.dsn(CONSOLE), max_size=2)
    passwords = Passwords()
    await ensure_first_operator(pool, passwords, password_file(settings))
    sampler = Sampler.of(settings)
    projector = Projector(settings, projector_pool)
    console = Console(settings, pool, sampler, dlq_topics(), BusinessClock(settings.clock_offset_seconds), passwords)
    app = make_app(console)
    tasks = [asyncio.create_task(projector.run(), name="projector"), asyncio.create_task(sampler.run(), name="sampler")]
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=settings.console_host,
            port=settings.console_port,
            log_level="warning",
            access_log=False,
            # the client's address is the socket's peer: an X-Forwarded-For header is the sender's to fill in,
            # and would let one address pass for many past the login throttle
            proxy_headers=False,
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
        passwords.close()
        await pool.close()
        await projector_pool.close()
        log.info("service_stopped")
