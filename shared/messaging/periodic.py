"""What a service does on a timer, each round in its own transaction: its sweeps (deadlines, retention, the
business clock's mark) and the gauges read from its own tables (shared/observability/metrics.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.clock import BusinessClock
from shared.db.books import Problems
from shared.db.pool import Conn
from shared.logging import get_logger
from shared.messaging.outbox import Outbox
from shared.observability import metrics
from shared.observability.metrics import SagaReading
from shared.settings import PlatformSettings

log = get_logger(__name__)


@dataclass(frozen=True)
class Periodic:
    """Work a service does on a timer, in its own transaction (e.g. a sweep of deadlines)."""

    name: str
    seconds: float
    run: Callable[[Conn, Outbox, BusinessClock], Awaitable[int]]


async def run_every(job: Periodic, pool: Any, outbox: Outbox, clock: BusinessClock) -> None:
    done = 0
    while True:
        if not done:  # work left over from the last round (a backlog at 06:00) goes on at once
            await asyncio.sleep(job.seconds)
        try:
            async with pool.acquire() as conn, conn.transaction():
                done = await job.run(conn, outbox, clock)
            if done:
                log.info("periodic_done", job=job.name, count=done)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the next round tries again; nothing was committed
            done = 0
            log.warning("periodic_failed", job=job.name, error=repr(exc))


async def refresh_gauges(
    pool: Any,
    clock: BusinessClock,
    settings: PlatformSettings,
    sagas: Callable[[Conn, datetime], Awaitable[list[SagaReading]]] | None,
    books: Callable[[Conn], Awaitable[Problems]] | None,
) -> None:
    """The outbox's backlog, the sagas by state and the books' status, every metrics_refresh_seconds (the books
    every metrics_books_seconds). The database away: the gauges keep their last values."""
    books_due = 0.0
    while True:
        try:
            async with pool.acquire() as conn:
                row = await conn.fetchrow(
                    """SELECT count(*) FILTER (WHERE failed_at IS NULL) AS backlog,
                              count(*) FILTER (WHERE failed_at IS NOT NULL) AS failed,
                              extract(epoch FROM now() - min(created_at) FILTER (WHERE failed_at IS NULL)) AS age
                       FROM outbox WHERE published_at IS NULL"""
                )
                assert row is not None  # an aggregate always has its row
                age = float(row["age"]) if row["age"] is not None else None
                metrics.set_outbox(row["backlog"], age, row["failed"])
                if sagas is not None:
                    metrics.set_sagas(await sagas(conn, clock.now()))
                if books is not None and time.monotonic() >= books_due:
                    books_due = time.monotonic() + settings.metrics_books_seconds
                    metrics.set_books(await books(conn))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the database away: the gauges keep their last values
            log.warning("metrics_refresh_failed", error=repr(exc))
        await asyncio.sleep(settings.metrics_refresh_seconds)
