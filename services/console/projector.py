"""The console's read model, kept from the platform's streams (ADR 0019): the wallet's, the payment service's and
the clearing service's events, and every province's notifications. One transaction per poll, with where each
partition stands (read_positions), so a record is applied once however often it is read; the Kafka offsets are
committed after, at most once a second, for the lag pages only (the database is where the projector starts from).

What it costs (issue 30): a poll's records are written with one set-based statement per table, not one per record
(`ConsoleRepository.apply`), and a fetch waits up to FETCH_WAIT_MS for FETCH_MIN_BYTES, so that under load the
projector wakes a few times a second, not once per record; a record is shown at most FETCH_WAIT_MS after it is
written, plus one transaction."""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import UTC, datetime
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition

from services.console.adapters.repository import ConsoleRepository
from services.console.domain.model import Change, project
from shared.contracts.topics import CLEARING_EVENTS, PAYMENT_EVENTS, PROVINCE_TOPICS, WALLET_EVENTS
from shared.logging import get_logger
from shared.messaging.security import CONSOLE, kafka_client
from shared.settings import PlatformSettings

log = get_logger(__name__)

FOLLOWED = (WALLET_EVENTS, PAYMENT_EVENTS, CLEARING_EVENTS, *PROVINCE_TOPICS)
GROUP = "console.read-model"
FETCH_MIN_BYTES = 256 * 1024
FETCH_WAIT_MS = 500
"""A fetch is answered when FETCH_MIN_BYTES are there or after FETCH_WAIT_MS: the bound on how late a record is."""
MAX_RECORDS = 5000
COMMIT_EVERY = 1.0
"""Seconds between two commits of the Kafka offsets (only the lag pages read them); the last is committed when a
poll brings nothing."""


class _StartWhereTheDatabaseStands(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, projector: Projector) -> None:
        self.projector = projector

    async def on_partitions_revoked(self, revoked: Any) -> None:
        return None

    async def on_partitions_assigned(self, assigned: Any) -> None:
        await self.projector.seek(assigned)


class Projector:
    def __init__(self, settings: PlatformSettings, pool: asyncpg.Pool[Any]) -> None:
        self.settings = settings
        self.pool = pool
        self.applied = 0
        self.skipped = 0
        self._consumer: AIOKafkaConsumer | None = None

    async def seek(self, assigned: Any) -> None:
        assert self._consumer is not None
        async with self.pool.acquire() as conn:
            positions = await ConsoleRepository(conn).positions()
        for tp in assigned:
            if (tp.topic, tp.partition) in positions:
                self._consumer.seek(tp, positions[(tp.topic, tp.partition)])

    async def run(self) -> None:
        while True:
            try:
                await self._follow()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the broker or the database away: start again from the database
                log.warning("console_projector_failed", error=repr(exc))
                await asyncio.sleep(2.0)

    async def _follow(self) -> None:
        consumer = AIOKafkaConsumer(
            **kafka_client(self.settings, CONSOLE),
            group_id=GROUP,
            client_id="medaid-console",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_min_bytes=FETCH_MIN_BYTES,
            fetch_max_wait_ms=FETCH_WAIT_MS,
        )
        consumer.subscribe(list(FOLLOWED), listener=_StartWhereTheDatabaseStands(self))
        self._consumer = consumer
        await consumer.start()
        loop = asyncio.get_running_loop()
        committed_at = loop.time()
        uncommitted = False
        try:
            while True:
                polled = await consumer.getmany(timeout_ms=FETCH_WAIT_MS * 2, max_records=MAX_RECORDS)
                if polled:
                    await self._apply(polled)
                    uncommitted = True
                if uncommitted and (not polled or loop.time() - committed_at >= COMMIT_EVERY):
                    with contextlib.suppress(Exception):  # only the lag pages read it
                        await consumer.commit()
                    committed_at = loop.time()
                    uncommitted = False
        finally:
            with contextlib.suppress(Exception):
                await consumer.stop()

    async def _apply(self, polled: dict[TopicPartition, list[Any]]) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            repo = ConsoleRepository(conn)
            stood = await repo.positions()
            changes: list[Change] = []
            positions: dict[tuple[str, int], int] = {}
            for tp, records in polled.items():
                first = stood.get((tp.topic, tp.partition), 0)
                for r in records:
                    if r.offset >= first:  # a record read again (after a restart) was applied with its position
                        changes += self._changes(r)
                positions[(tp.topic, tp.partition)] = records[-1].offset + 1
            await repo.apply(changes, positions)
        self.applied += len(changes)

    def _changes(self, record: Any) -> list[Change]:
        """Tolerant: a record the console cannot read is counted and left (the services dead-letter it)."""
        try:
            envelope = json.loads(record.value)
            sent_at = datetime.fromisoformat(str(envelope.get("sent_at")))
            if sent_at.tzinfo is None:
                sent_at = sent_at.replace(tzinfo=UTC)
            return project(record.topic, str(envelope["msgid"]), str(envelope["type"]), envelope["body"], sent_at)
        except Exception:  # noqa: BLE001 - content: never stops the read model
            self.skipped += 1
            return []
