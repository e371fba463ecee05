"""Tracking records (`consumer_positions`): which records of a partition a consumer has applied, written in the
same transaction as their effects (the eventsourcing way), so a redelivered record is recognised and skipped.

A transaction locks each partition's row once (creating it if needed), judges every record it takes against it in
memory, and writes the row once before it commits (ADR 0018): a batch of records costs two statements per
partition, not one per record.

The rule, per record: a record at or below the stored offset is a redelivery (already applied) when it is no newer
than the newest record applied there; newer, or more than REDELIVERY_WINDOW behind, it comes from a recreated or
reset topic and is applied (the inbox stops a second effect). Timestamps are the broker's (every topic is
LogAppendTime, tools/topics.py), not the producer's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from shared.db.pool import Conn
from shared.logging import get_logger

log = get_logger(__name__)

REDELIVERY_WINDOW = 10_000
"""How far back an offset may be seen again and still be a redelivery (uncommitted offsets after a crash are
bounded by the committer's batch); further back, the topic was recreated or reset."""


class TrackedRecord(Protocol):
    topic: str
    partition: int
    offset: int
    timestamp: int


@dataclass
class _Position:
    last_offset: int
    max_timestamp: int
    changed: bool = False


class Tracking:
    """One transaction's view of one consumer's tracking records."""

    def __init__(self, consumer: str) -> None:
        self.consumer = consumer
        self._positions: dict[tuple[str, int], _Position] = {}

    async def claim(self, conn: Conn, record: TrackedRecord) -> bool:
        """Advance the partition's position past the record; False when its effects are already committed."""
        position = self._positions.get((record.topic, record.partition))
        if position is None:
            position = await self._lock(conn, record.topic, record.partition)
            self._positions[(record.topic, record.partition)] = position
        newer = position.max_timestamp >= 0 and record.timestamp > position.max_timestamp
        behind = position.last_offset - record.offset > REDELIVERY_WINDOW
        if position.last_offset >= record.offset and not newer and not behind:
            return False
        if position.last_offset >= record.offset:
            # The topic was recreated or its offsets reset. Processing again is safe (the inbox stops a second
            # effect); skipping would lose new messages.
            log.error(
                "consumer_position_went_backwards",
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
                previous=position.last_offset,
            )
        position.last_offset = record.offset
        position.max_timestamp = max(position.max_timestamp, record.timestamp)
        position.changed = True
        return True

    async def _lock(self, conn: Conn, topic: str, partition: int) -> _Position:
        # A new row starts below every offset; ON CONFLICT ... DO UPDATE locks an existing one (and waits for a
        # concurrent first insert), so two transactions never judge the same partition at once.
        row = await conn.fetchrow(
            """INSERT INTO consumer_positions (consumer, topic, partition, last_offset, max_timestamp)
               VALUES ($1, $2, $3, -1, -1)
               ON CONFLICT (consumer, topic, partition) DO UPDATE SET last_offset = consumer_positions.last_offset
               RETURNING last_offset, max_timestamp""",
            self.consumer,
            topic,
            partition,
        )
        assert row is not None
        return _Position(row["last_offset"], row["max_timestamp"])

    async def save(self, conn: Conn) -> None:
        """Write every advanced position; call last in the transaction."""
        changed = [
            (self.consumer, topic, partition, p.last_offset, p.max_timestamp)
            for (topic, partition), p in self._positions.items()
            if p.changed
        ]
        if changed:
            await conn.executemany(
                """UPDATE consumer_positions SET last_offset = $4, max_timestamp = $5, updated_at = now()
                   WHERE consumer = $1 AND topic = $2 AND partition = $3""",
                changed,
            )
        for p in self._positions.values():
            p.changed = False
