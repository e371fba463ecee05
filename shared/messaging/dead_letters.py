"""Dead letters read back and replayed (ADR 0003): what `tools.dlq` and the operators' console share.

A replay re-publishes the ORIGINAL record (its exact bytes, key and signature headers, read back from the source
topic at the partition and offset the dead letter names, and checked against the hash the dead letter keeps) with a
header `x-replayed-from: <dlq>@<offset>`. The dead letter's own payload is masked and is never sent anywhere. The
consumers' inbox makes a replay idempotent: a message already answered is answered again as before, with no
effect; an event already applied is skipped.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from shared.contracts.topics import PLATFORM_SENDER
from shared.messaging.security import OPERATOR, kafka_client
from shared.settings import PlatformSettings
from shared.signing import SIGNATURE_HEADERS

UNVERIFIED_CODE = "SIGNATURE_INVALID"
"""A record whose signature did not verify: dead-lettered as a digest, answered to no province (ADR 0023)."""
CONTENT_CODES = frozenset({"INVALID_MESSAGE", "WRONG_TOPIC"})
"""Dead-lettered for their content: replayed, they would only be dead-lettered again."""


@dataclass(frozen=True)
class DeadLetter:
    offset: int
    reason_code: str
    reason: str
    source_topic: str
    source_partition: int
    source_offset: int
    source_sha256: str | None
    sender: str | None
    msgid: str | None
    type: str | None
    partition: int = 0
    timestamp_ms: int | None = None
    """When the dead letter was written (the broker's timestamp)."""
    attempts: int | None = None
    payload: Any = None
    """The original's content as the dead letter keeps it: masked by field (shared/identity.py)."""
    consumer: str | None = None

    @property
    def answered(self) -> bool:
        """Its sender got its one answer (`rejected`) when it was dead-lettered: the province resends with a new msgid;
        a replay is answered again as before. A record whose signature did not verify was answered to nobody (ADR 0023):
        its sender, if it was its sender's, learns of it only from an operator."""
        return bool(
            self.sender and self.msgid and self.sender != PLATFORM_SENDER and self.reason_code != UNVERIFIED_CODE
        )

    @property
    def is_digest(self) -> bool:
        """The dead letter keeps a digest of the record (size, hash, key id, first KiB masked), not the record."""
        return isinstance(self.payload, dict) and self.payload.get("digest") is True

    @property
    def for_content(self) -> bool:
        return self.reason_code in CONTENT_CODES


def parse_dead_letter(
    offset: int, value: bytes | None, partition: int = 0, timestamp_ms: int | None = None
) -> DeadLetter | None:
    try:
        body = json.loads(value or b"")["body"]
        source = body["source"]
        return DeadLetter(
            offset,
            str(body["reason_code"]),
            str(body.get("reason") or ""),
            str(source["topic"]),
            int(source["partition"]),
            int(source["offset"]),
            source.get("sha256"),
            body.get("sender"),
            body.get("msgid"),
            body.get("type"),
            partition,
            timestamp_ms,
            body.get("attempts"),
            body.get("payload"),
            body.get("consumer"),
        )
    except (ValueError, KeyError, TypeError):
        return None


async def partitions_of(settings: PlatformSettings, topic: str, principal: str = OPERATOR) -> list[TopicPartition]:
    """A topic's partitions, from the broker (empty when there is no such topic)."""
    admin = AIOKafkaAdminClient(**kafka_client(settings, principal))
    await admin.start()
    try:
        [described] = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return [
        TopicPartition(topic, p["partition"])
        for p in described.get("partitions", [])
        if described.get("error_code", 0) == 0
    ]


async def read_dead_letters(settings: PlatformSettings, dlq: str, principal: str = OPERATOR) -> list[DeadLetter]:
    """Every dead letter of a DLQ topic, oldest first. Raises LookupError when there is no such topic."""
    parts = await partitions_of(settings, dlq, principal)
    if not parts:
        raise LookupError(f"no topic {dlq}")
    consumer = AIOKafkaConsumer(**kafka_client(settings, principal), group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(parts)
        ends = await consumer.end_offsets(parts)
        for tp, first in (await consumer.beginning_offsets(parts)).items():
            consumer.seek(tp, first)  # (seek_to_beginning then position() answered the end here)
        out: list[DeadLetter] = []
        while [tp for tp in parts if await consumer.position(tp) < ends[tp]]:
            for tp, records in (await consumer.getmany(timeout_ms=500)).items():
                out += [
                    d
                    for r in records
                    if (d := parse_dead_letter(r.offset, r.value, tp.partition, r.timestamp)) is not None
                ]
        return sorted(out, key=lambda d: (d.partition, d.offset))
    finally:
        await consumer.stop()


PAGE_SIZE = 50
"""Dead letters on one page of the console: a page reads at most this many records, whatever the topic holds."""


async def count_dead_letters(settings: PlatformSettings, dlq: str, principal: str = OPERATOR) -> int:
    """How many dead letters a DLQ topic holds (from its offsets: nothing is read). 0 when there is no such topic."""
    parts = await partitions_of(settings, dlq, principal)
    if not parts:
        return 0
    consumer = AIOKafkaConsumer(**kafka_client(settings, principal), group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        ends = await consumer.end_offsets(parts)
        firsts = await consumer.beginning_offsets(parts)
        return sum(ends[tp] - firsts[tp] for tp in parts)
    finally:
        await consumer.stop()


async def read_page(
    settings: PlatformSettings,
    dlq: str,
    *,
    before: int | None = None,
    size: int = PAGE_SIZE,
    principal: str = OPERATOR,
    partition: int = 0,
) -> tuple[list[DeadLetter], int | None]:
    """A page of a DLQ's dead letters, newest first: at most `size` of them, at offsets below `before` (keyset
    pagination; None: from the newest). Returns them with the `before` of the next page (None: no older ones).
    The list is of identities: each letter's payload is left out (a detail view reads one with `read_at`). DLQ
    topics have one partition (deploy/topics.toml); `partition` reads another."""
    tp = TopicPartition(dlq, partition)
    if tp not in await partitions_of(settings, dlq, principal):
        raise LookupError(f"no topic {dlq}")
    consumer = AIOKafkaConsumer(**kafka_client(settings, principal), group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign([tp])
        first = (await consumer.beginning_offsets([tp]))[tp]
        end = (await consumer.end_offsets([tp]))[tp]
        stop = min(end, before) if before is not None else end
        start = max(first, stop - size)
        out: list[DeadLetter] = []
        if start < stop:
            consumer.seek(tp, start)
            while await consumer.position(tp) < stop:
                for records in (await consumer.getmany(tp, timeout_ms=500, max_records=stop - start)).values():
                    for r in records:
                        if r.offset < stop and (d := parse_dead_letter(r.offset, r.value, partition, r.timestamp)):
                            out.append(replace(d, payload=None))
        return sorted(out, key=lambda d: -d.offset), (start if start > first else None)
    finally:
        await consumer.stop()


async def read_at(
    settings: PlatformSettings, dlq: str, offsets: Sequence[int], principal: str = OPERATOR, partition: int = 0
) -> list[DeadLetter]:
    """The dead letters at these offsets (of one partition), payloads included; an offset with none is left out."""
    consumer = AIOKafkaConsumer(**kafka_client(settings, principal), group_id=None, enable_auto_commit=False)
    await consumer.start()
    out: list[DeadLetter] = []
    try:
        tp = TopicPartition(dlq, partition)
        consumer.assign([tp])
        for offset in sorted(set(offsets)):
            consumer.seek(tp, offset)
            batch = await consumer.getmany(tp, timeout_ms=2000, max_records=1)
            records = batch.get(tp, [])
            if records and records[0].offset == offset:
                r = records[0]
                if (d := parse_dead_letter(r.offset, r.value, partition, r.timestamp)) is not None:
                    out.append(d)
        return out
    finally:
        await consumer.stop()


async def _original(consumer: AIOKafkaConsumer, d: DeadLetter) -> Any:
    tp = TopicPartition(d.source_topic, d.source_partition)
    consumer.assign([tp])
    consumer.seek(tp, d.source_offset)
    batch = await consumer.getmany(tp, timeout_ms=2000, max_records=1)
    records = batch.get(tp, [])
    return records[0] if records and records[0].offset == d.source_offset else None


@dataclass(frozen=True)
class Replay:
    letter: DeadLetter
    outcome: str
    """replayed, would replay (a dry run), gone (past the source topic's retention) or changed (another record
    at its offset: the topic was recreated)."""

    @property
    def source(self) -> str:
        d = self.letter
        return f"{d.source_topic}[{d.source_partition}]@{d.source_offset}"


async def replay(
    settings: PlatformSettings, dlq: str, selected: list[DeadLetter], dry_run: bool, principal: str = OPERATOR
) -> list[Replay]:
    consumer = AIOKafkaConsumer(**kafka_client(settings, principal), group_id=None, enable_auto_commit=False)
    producer = AIOKafkaProducer(**kafka_client(settings, principal), enable_idempotence=True, acks="all")
    await consumer.start()
    await producer.start()
    done: list[Replay] = []
    try:
        for d in selected:
            record = await _original(consumer, d)
            if record is None:
                done.append(Replay(d, "gone"))
                continue
            if d.source_sha256 and hashlib.sha256(record.value or b"").hexdigest() != d.source_sha256:
                done.append(Replay(d, "changed"))
                continue
            if not dry_run:
                # the original's signature goes with it (docs/signing.md): the bytes are the same, so it still verifies
                signature = [(k, v) for k, v in (record.headers or ()) if k in SIGNATURE_HEADERS]
                headers = [*signature, ("x-replayed-from", f"{dlq}@{d.offset}".encode())]
                await producer.send_and_wait(d.source_topic, record.value, key=record.key, headers=headers)
            done.append(Replay(d, "would replay" if dry_run else "replayed"))
    finally:
        await producer.stop()
        await consumer.stop()
    return done
