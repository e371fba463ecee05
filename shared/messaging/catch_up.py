"""Read-your-writes across services (ADR 0012): judge a request only once this service's copy of another
service's state has caught up with everything that service had published when the request arrived.

The producer side (the outbox relay) publishes a transaction's events, and waits for the broker's acks,
before its answers and notifications. So when a province reads `completed`, the events behind that answer are
already below the high watermark of their stream. Any request the province sends afterwards reaches us later
still; a high watermark read *after* the request arrived therefore covers those events, and once this
service's follower has applied every record below it, the copy is as new as the answer the province saw.

`Watermarks` reads high watermarks, never handing a caller an answer fetched before it asked; callers that ask
while a fetch is in flight share the next one, so a busy consumer costs one ListOffsets round trip per batch of
concurrent callers, not one per record. `CatchUp` then waits until the follower's tracking records (written in
the same transaction as the copy) reach those offsets. A follower that is slow or down is infrastructure:
the wait is unbounded and logged, never a rejection.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from shared.logging import get_logger
from shared.observability import metrics

log = get_logger(__name__)

EndOffsets = Callable[[tuple[str, ...]], Awaitable[Mapping[str, Mapping[int, int]]]]
"""topics -> {topic: {partition: high watermark (the offset the next record will get)}}, in one request"""


class KafkaEndOffsets:
    """High watermarks from the broker: partitions from the topic's metadata, offsets by ListOffsets."""

    def __init__(
        self, bootstrap: str, client_id: str, metadata_seconds: float = 30.0, security: Mapping[str, Any] | None = None
    ) -> None:
        self._bootstrap = bootstrap
        self._client_id = client_id
        self._security = dict(security or {})
        self._metadata_seconds = metadata_seconds
        self._consumer: AIOKafkaConsumer | None = None
        self._partitions: dict[str, tuple[list[TopicPartition], float]] = {}
        self._lock = asyncio.Lock()

    async def _started(self) -> AIOKafkaConsumer:
        async with self._lock:
            if self._consumer is None:
                consumer = AIOKafkaConsumer(
                    bootstrap_servers=self._bootstrap,
                    client_id=self._client_id,
                    group_id=None,
                    enable_auto_commit=False,
                    request_timeout_ms=10_000,
                    **self._security,
                )
                await consumer.start()
                self._consumer = consumer
            return self._consumer

    async def _partitions_of(self, topic: str) -> list[TopicPartition]:
        known = self._partitions.get(topic)
        if known is not None and time.monotonic() - known[1] < self._metadata_seconds:
            return known[0]
        admin = AIOKafkaAdminClient(bootstrap_servers=self._bootstrap, client_id=self._client_id, **self._security)
        await admin.start()
        try:
            [described] = await admin.describe_topics([topic])
        finally:
            await admin.close()
        parts = [TopicPartition(topic, p["partition"]) for p in described.get("partitions") or ()]
        if not parts:
            raise LookupError(f"no partitions for {topic}: {described.get('error_code')}")
        self._partitions[topic] = (parts, time.monotonic())
        return parts

    async def __call__(self, topics: tuple[str, ...]) -> Mapping[str, Mapping[int, int]]:
        consumer = await self._started()
        parts = [tp for topic in topics for tp in await self._partitions_of(topic)]
        metrics.CATCH_UP_WATERMARK_READS.inc()
        ends = await consumer.end_offsets(parts)
        found: dict[str, dict[int, int]] = {topic: {} for topic in topics}
        for tp, offset in ends.items():
            found[tp.topic][tp.partition] = int(offset)
        return found

    async def close(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None


class Watermarks:
    """High watermarks, each read after its caller asked. Concurrent callers share one fetch."""

    def __init__(self, end_offsets: EndOffsets, retry_seconds: float = 0.5) -> None:
        self._end_offsets = end_offsets
        self._retry = retry_seconds
        self._running: dict[tuple[str, ...], asyncio.Future[Mapping[str, Mapping[int, int]]]] = {}
        self._next: dict[tuple[str, ...], asyncio.Future[Mapping[str, Mapping[int, int]]]] = {}

    async def after_now(self, topics: tuple[str, ...]) -> Mapping[str, Mapping[int, int]]:
        """Watermarks of `topics` read by a request that started after this call: a fetch already in flight
        may predate the caller's own record, so the caller joins the one after it."""
        fut = self._next.get(topics)
        if fut is None:
            fut = asyncio.ensure_future(self._fetch_after(topics, self._running.get(topics)))
            self._next[topics] = fut
        return await asyncio.shield(fut)

    async def _fetch_after(
        self, topics: tuple[str, ...], previous: asyncio.Future[Mapping[str, Mapping[int, int]]] | None
    ) -> Mapping[str, Mapping[int, int]]:
        if previous is not None and not previous.done():
            await asyncio.wait([previous])
        me = self._next.pop(topics)
        self._running[topics] = me
        attempt = 0
        while True:
            try:
                return await self._end_offsets(topics)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the broker away: infrastructure, retried without limit
                attempt += 1
                log.warning("watermarks_unavailable", topics=list(topics), attempt=attempt, error=repr(exc))
                await asyncio.sleep(min(self._retry * attempt, 5.0))


class CatchUp:
    """Waits until this service's followers of `topics` have applied every record those topics held when the
    wait began. The followers' tracking records are `consumer_positions` rows of consumer `<service>.<topic>`."""

    def __init__(
        self,
        pool: asyncpg.Pool[Any] | Any,
        service: str,
        topics: Sequence[str],
        watermarks: Watermarks,
        *,
        poll_seconds: float = 0.005,
        max_poll_seconds: float = 0.05,
        warn_after_seconds: float = 10.0,
    ) -> None:
        self.pool = pool
        self.service = service
        self.topics = tuple(topics)
        self.watermarks = watermarks
        self.poll = poll_seconds
        self.max_poll = max_poll_seconds
        self.warn_after = warn_after_seconds
        self.waits = 0
        """How many waits found a follower behind (had to poll at least once)."""

    async def wait(self) -> float:
        """Seconds spent, from the watermark read to the followers having applied everything below it."""
        started = time.monotonic()
        metrics.CATCH_UP_WAITS.inc()
        targets = await self.watermarks.after_now(self.topics)
        delay = self.poll
        warned_at = started
        polled = False
        while True:
            behind = await self._behind(targets)
            if not behind:
                waited = time.monotonic() - started
                if polled:
                    self.waits += 1
                    log.info("caught_up_with_followers", waited_ms=round(waited * 1000, 1))
                return waited
            polled = True
            now = time.monotonic()
            if now - warned_at >= self.warn_after:
                warned_at = now
                log.warning("waiting_for_followers", behind=behind, waited_s=round(now - started, 1))
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.max_poll)

    async def _behind(self, targets: Mapping[str, Mapping[int, int]]) -> dict[str, dict[int, int]]:
        """{topic: {partition: records still to apply}} for every partition not yet caught up."""
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT topic, partition, last_offset FROM consumer_positions WHERE consumer = ANY($1::text[])",
                [f"{self.service}.{t}" for t in targets],
            )
        applied = {(r["topic"], r["partition"]): r["last_offset"] for r in rows}
        behind: dict[str, dict[int, int]] = {}
        for topic, ends in targets.items():
            for partition, end in ends.items():
                done = applied.get((topic, partition), -1) + 1
                if done < end:
                    behind.setdefault(topic, {})[partition] = end - done
        return behind
