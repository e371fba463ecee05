"""Dead letters for operators: list them, and replay them to their source topic once the cause is fixed.

    python -m tools.dlq list ingress.settlement.v1.dlq [--reason PROCESSING_FAILED] [--limit 50]
    python -m tools.dlq replay ingress.settlement.v1.dlq --offset 17 --offset 18 [--dry-run]
    python -m tools.dlq replay payment.events.v1.wallet.dlq --from 100 --to 140
    python -m tools.dlq replay ingress.wallet.v1.dlq --reason PROCESSING_FAILED

A replay re-publishes the ORIGINAL record (its exact bytes and key, read back from the source topic at the
partition and offset the dead letter names, and checked against the hash the dead letter keeps) with a header
`x-replayed-from: <dlq>@<offset>`; the dead letter's own payload is masked and is never sent anywhere.
What it skips unless told: a message whose sender was answered (it has its one answer; the province resends
with a new msgid; `--include-answered` sends it again, and the inbox answers it as before, with no effect), and
a record dead-lettered for its content (`INVALID_MESSAGE`, `WRONG_TOPIC`: it would only be dead-lettered again;
`--include-invalid`). An event dead-lettered without a compensation is applied once; replayed again, the
inbox skips it. A source record past its topic's retention, or another record at its offset (the topic was
recreated), is not replayed; the command says so. `make dlq ARGS=...`.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import sys
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from shared.contracts.topics import PLATFORM_SENDER
from shared.messaging.security import OPERATOR, kafka_client
from shared.settings import PlatformSettings
from shared.signing import SIGNATURE_HEADERS


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


def _dead_letter(offset: int, value: bytes | None) -> DeadLetter | None:
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
        )
    except (ValueError, KeyError, TypeError):
        return None


async def partitions_of(settings: PlatformSettings, topic: str) -> list[TopicPartition]:
    """A topic's partitions, from the broker (empty when there is no such topic)."""
    admin = AIOKafkaAdminClient(**kafka_client(settings, OPERATOR))
    await admin.start()
    try:
        [described] = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return [
        TopicPartition(topic, p["partition"]) for p in sorted(described["partitions"], key=lambda p: p["partition"])
    ]


async def read_dead_letters(settings: PlatformSettings, dlq: str) -> list[DeadLetter]:
    parts = await partitions_of(settings, dlq)
    if not parts:
        raise SystemExit(f"no topic {dlq}")
    consumer = AIOKafkaConsumer(**kafka_client(settings, OPERATOR), group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(parts)
        ends = await consumer.end_offsets(parts)
        for tp, first in (await consumer.beginning_offsets(parts)).items():
            consumer.seek(tp, first)  # (seek_to_beginning then position() answered the end here)
        out: list[DeadLetter] = []
        while [tp for tp in parts if await consumer.position(tp) < ends[tp]]:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                out += [d for r in records if (d := _dead_letter(r.offset, r.value)) is not None]
        return sorted(out, key=lambda d: d.offset)
    finally:
        await consumer.stop()


async def _original(consumer: AIOKafkaConsumer, d: DeadLetter) -> Any:
    tp = TopicPartition(d.source_topic, d.source_partition)
    consumer.assign([tp])
    consumer.seek(tp, d.source_offset)
    batch = await consumer.getmany(tp, timeout_ms=2000, max_records=1)
    records = batch.get(tp, [])
    return records[0] if records and records[0].offset == d.source_offset else None


async def replay(settings: PlatformSettings, dlq: str, selected: list[DeadLetter], dry_run: bool) -> int:
    consumer = AIOKafkaConsumer(**kafka_client(settings, OPERATOR), group_id=None, enable_auto_commit=False)
    producer = AIOKafkaProducer(**kafka_client(settings, OPERATOR), enable_idempotence=True, acks="all")
    await consumer.start()
    await producer.start()
    missing = 0
    try:
        for d in selected:
            record = await _original(consumer, d)
            where = f"{d.source_topic}[{d.source_partition}]@{d.source_offset}"
            if record is None:
                missing += 1
                print(f"  {dlq}@{d.offset}: {where} is no longer in the topic (retention): cannot be replayed")
                continue
            if d.source_sha256 and hashlib.sha256(record.value or b"").hexdigest() != d.source_sha256:
                missing += 1
                print(f"  {dlq}@{d.offset}: {where} holds another record now (topic recreated?): not replayed")
                continue
            if not dry_run:
                # the original's signature goes with it (docs/signing.md): the bytes are the same, so it still verifies
                signature = [(k, v) for k, v in (record.headers or ()) if k in SIGNATURE_HEADERS]
                headers = [*signature, ("x-replayed-from", f"{dlq}@{d.offset}".encode())]
                await producer.send_and_wait(d.source_topic, record.value, key=record.key, headers=headers)
            print(f"  {dlq}@{d.offset}: {'would replay' if dry_run else 'replayed'} {where} ({d.reason_code})")
    finally:
        await producer.stop()
        await consumer.stop()
    return 1 if missing else 0


CONTENT_CODES = frozenset({"INVALID_MESSAGE", "WRONG_TOPIC"})


def select(letters: list[DeadLetter], args: argparse.Namespace) -> list[DeadLetter]:
    chosen = letters
    if getattr(args, "command", "list") == "replay":
        if not args.include_answered:
            chosen = [d for d in chosen if not (d.sender and d.msgid and d.sender != PLATFORM_SENDER)]
        if not args.include_invalid:
            chosen = [d for d in chosen if d.reason_code not in CONTENT_CODES]
    if args.offset:
        chosen = [d for d in chosen if d.offset in set(args.offset)]
    if args.start is not None:
        chosen = [d for d in chosen if d.offset >= args.start]
    if args.end is not None:
        chosen = [d for d in chosen if d.offset <= args.end]
    if args.reason:
        chosen = [d for d in chosen if d.reason_code == args.reason]
    return chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.dlq", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("list", "replay"):
        p = sub.add_parser(name)
        p.add_argument("dlq", help="a dead-letter topic, e.g. ingress.settlement.v1.dlq")
        p.add_argument("--offset", type=int, action="append", default=[], help="a dead letter's offset (repeatable)")
        p.add_argument("--from", dest="start", type=int, help="first offset of a range")
        p.add_argument("--to", dest="end", type=int, help="last offset of a range")
        p.add_argument("--reason", help="only dead letters with this reason code")
        if name == "list":
            p.add_argument("--limit", type=int, default=50)
        else:
            p.add_argument("--dry-run", action="store_true")
            p.add_argument("--include-answered", action="store_true", help="also messages whose sender was answered")
            p.add_argument("--include-invalid", action="store_true", help="also records dead-lettered for content")
    args = parser.parse_args(argv)
    if not args.dlq.endswith(".dlq"):
        print(f"{args.dlq} is not a dead-letter topic", file=sys.stderr)
        return 2
    settings = PlatformSettings()
    letters = select(asyncio.run(read_dead_letters(settings, args.dlq)), args)
    if args.command == "list":
        print(f"{len(letters)} dead letters in {args.dlq}")
        for d in letters[-args.limit :]:
            who = f"{d.sender or '?'}:{d.msgid or '?'}"
            source = f"{d.source_topic}[{d.source_partition}]@{d.source_offset}"
            print(f"  @{d.offset:<7} {d.reason_code:<20} {source:<34} {who:<38} {d.type or '-':<28} {d.reason[:60]}")
        return 0
    if not (args.offset or args.start is not None or args.end is not None or args.reason):
        print("choose what to replay: --offset N, --from A --to B, or --reason CODE", file=sys.stderr)
        return 2
    print(f"{'dry run: ' if args.dry_run else ''}{len(letters)} dead letters of {args.dlq} to replay")
    return asyncio.run(replay(settings, args.dlq, letters, args.dry_run))


if __name__ == "__main__":
    sys.exit(main())
