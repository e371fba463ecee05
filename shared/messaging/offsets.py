"""Offset commits after the database commit, without a broker round trip per message.

The kernel's tracking record already makes a redelivered record harmless, so the Kafka offset only
decides how much is re-read after a crash. The committer records the offset after each record
whose transaction committed, and commits those explicit offsets (never the consumer's position,
which may be ahead of what was processed) every `interval` seconds or every `max_pending` records.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from aiokafka import TopicPartition
from aiokafka.structs import OffsetAndMetadata

from shared.logging import get_logger

log = get_logger(__name__)


class OffsetCommitter:
    def __init__(self, interval: float = 2.0, max_pending: int = 1000) -> None:
        self.interval = interval
        self.max_pending = max_pending
        self._pending: dict[TopicPartition, int] = {}
        self._consumer: Any = None
        self._count = 0
        self._last = time.monotonic()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    async def processed(self, consumer: Any, topic: str, partition: int, offset: int) -> None:
        """Call after the record's transaction committed."""
        self._consumer = consumer
        self._pending[TopicPartition(topic, partition)] = offset + 1
        self._count += 1
        if self._task is None and not self._closed:
            self._task = asyncio.create_task(self._flush_periodically())
        if self._closed or self._count >= self.max_pending or time.monotonic() - self._last >= self.interval:
            await self.flush()

    async def flush(self) -> None:
        async with self._lock:
            if not self._pending or self._consumer is None:
                return
            offsets = {tp: OffsetAndMetadata(offset, "") for tp, offset in self._pending.items()}
            self._pending = {}
            self._count = 0
            self._last = time.monotonic()
            try:
                await self._consumer.commit(offsets)
            except Exception as exc:  # noqa: BLE001 - e.g. a rebalance took the partition: re-reading is harmless
                log.warning("offset_commit_failed", error=repr(exc))

    async def _flush_periodically(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self.flush()

    async def close(self) -> None:
        """Commit what is pending and stop the periodic flush. Records finished after this (while the
        broker drains in-flight messages at shutdown) are committed right away while the consumer
        still runs; if it has stopped, they are re-read on the next start, which is harmless."""
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.flush()
