"""The poll loop of one consumer group: micro-batches per partition, partitions in parallel (ADR 0018).

One aiokafka consumer per kernel (an ingress topic or a followed stream). Each poll (`getmany`) hands every
partition's records, in offset order, to the kernel's `process_batch` (one transaction per batch where nothing
fails); the partitions of one poll run concurrently, each on its own database connection, each in its own
order. A partition's offset is recorded for commit only after its batch's transactions committed
(shared/messaging/offsets.py commits them). A batch whose kernel call fails unexpectedly (a bug: the kernel
classifies everything a record can cause) is not committed: the partition is sought back to its first record
and read again after a pause, so no later commit can pass over it.

`getmany` returns as soon as any record is there, so an idle consumer adds no latency; a busy one takes up to
`max_records` records a poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition

from shared.logging import get_logger
from shared.messaging.consumer import ConsumerRecord, Pipeline
from shared.messaging.kafka import consumer_group
from shared.messaging.offsets import OffsetCommitter
from shared.observability import metrics

log = get_logger(__name__)

KERNEL_FAILURE_PAUSE_SECONDS = 1.0
POSITIONS_EVERY_SECONDS = 2.0


class _CommitOnRevoke(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, committer: OffsetCommitter) -> None:
        self.committer = committer

    async def on_partitions_revoked(self, revoked: Any) -> None:
        await self.committer.flush()  # what was processed is committed before another member takes it

    async def on_partitions_assigned(self, assigned: Any) -> None:
        return None


class BatchRunner:
    """Reads one topic for one kernel, in its own consumer group, and feeds the kernel micro-batches."""

    def __init__(
        self,
        kernel: Pipeline,
        client_options: dict[str, Any],
        *,
        client_id: str,
        max_records: int = 200,
    ) -> None:
        self.kernel = kernel
        self.committer = OffsetCommitter()
        self.max_records = max_records
        self.group = consumer_group(kernel.service, kernel.source_topic)
        self._options = client_options
        self._client_id = client_id
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.batches = 0
        self.records = 0
        self._next: dict[TopicPartition, int] = {}
        """Per partition: the next offset to process (after each batch, and read from the consumer now and then)."""
        self._last_timestamp: dict[TopicPartition, float] = {}
        """Per partition: the timestamp (Unix seconds) of the last record processed."""
        self._positions_read = 0.0

    async def start(self) -> None:
        consumer = AIOKafkaConsumer(
            group_id=self.group,
            client_id=self._client_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_interval_ms=10 * 60 * 1000,
            **self._options,
        )
        consumer.subscribe([self.kernel.source_topic], listener=_CommitOnRevoke(self.committer))
        metrics.LAG.runners.append(self)
        self._consumer = consumer  # a stop that comes while it starts still closes it
        await consumer.start()
        if self._stopping:
            return
        self._task = asyncio.create_task(self._run(), name=f"{self.group}-batches")

    async def _run(self) -> None:
        consumer = self._consumer
        assert consumer is not None
        while not self._stopping:
            try:
                polled = await consumer.getmany(timeout_ms=500, max_records=self.max_records)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the broker away or a rebalance: poll again
                log.warning("consumer_poll_failed", group=self.group, error=repr(exc))
                await asyncio.sleep(1.0)
                continue
            if polled:
                await asyncio.gather(*(self._partition(consumer, tp, records) for tp, records in polled.items()))
            await self._read_positions(consumer)

    async def _read_positions(self, consumer: AIOKafkaConsumer) -> None:
        """Every few seconds, each assigned partition's position, for its lag (a quiet partition has no batches)."""
        now = time.monotonic()
        if now - self._positions_read < POSITIONS_EVERY_SECONDS:
            return
        self._positions_read = now
        assigned = consumer.assignment()
        for tp in list(self._next):
            if tp not in assigned:
                del self._next[tp]
        for tp in assigned:
            with contextlib.suppress(Exception):  # not yet fetched, or revoked meanwhile: the next round
                self._next[tp] = await asyncio.wait_for(consumer.position(tp), timeout=1.0)

    def progress(self) -> list[tuple[str, int, int | None, int | None, float | None]]:
        """For the lag metrics (shared/observability/metrics.py): read from Prometheus's thread, so copies only."""
        consumer = self._consumer
        if consumer is None:
            return []
        rows: list[tuple[str, int, int | None, int | None, float | None]] = []
        for tp, position in self._next.copy().items():  # dict.copy holds the GIL throughout
            try:
                watermark = consumer.highwater(tp)
            except Exception:  # noqa: BLE001 - revoked between the copy and here
                watermark = None
            rows.append((tp.topic, tp.partition, position, watermark, self._last_timestamp.get(tp)))
        return rows

    async def _partition(self, consumer: AIOKafkaConsumer, tp: TopicPartition, records: Sequence[Any]) -> None:
        batch: Sequence[ConsumerRecord] = records
        try:
            await self.kernel.process_batch(batch)
        except asyncio.CancelledError:
            consumer.seek(tp, records[0].offset)
            raise
        except Exception as exc:
            log.exception(
                "consumer_kernel_failed",
                topic=tp.topic,
                partition=tp.partition,
                offset=records[0].offset,
                error=repr(exc),
            )
            consumer.seek(tp, records[0].offset)
            await asyncio.sleep(KERNEL_FAILURE_PAUSE_SECONDS)
            return
        self.batches += 1
        self.records += len(records)
        self._next[tp] = records[-1].offset + 1
        self._last_timestamp[tp] = records[-1].timestamp / 1000
        # The batch's transactions committed: its offset may now be committed (explicitly, in batches).
        await self.committer.processed(consumer, tp.topic, tp.partition, records[-1].offset)

    async def stop(self, graceful_seconds: float = 15.0) -> None:
        """Finish the batch in hand (up to `graceful_seconds`), commit what was processed, leave the group."""
        self._stopping = True
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), timeout=graceful_seconds)
            except (TimeoutError, asyncio.CancelledError):
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await self._task
            except Exception as exc:  # noqa: BLE001 - stopping anyway
                log.warning("consumer_stop_failed", group=self.group, error=repr(exc))
        await self.committer.close()
        with contextlib.suppress(ValueError):
            metrics.LAG.runners.remove(self)
        if self._consumer is not None:
            with contextlib.suppress(Exception):
                await self._consumer.stop()
            self._consumer = None
