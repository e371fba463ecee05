"""Small helpers for talking to the real broker in tests."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from shared.messaging.security import ADMIN, kafka_client
from shared.settings import PlatformSettings, signing_keys_path
from shared.signing import SigningKeys
from tools.clock import stack_now

SHANGHAI = ZoneInfo("Asia/Shanghai")
_seq = 0


def new_msgid(sender: str) -> str:
    """sender + yyyyMMddHHmmss + a 10-digit sequence: 30 chars, unique in a test run."""
    global _seq
    _seq += 1
    return f"{sender}{datetime.now(SHANGHAI):%Y%m%d%H%M%S}{(uuid.uuid4().int + _seq) % 10**10:010d}"


def envelope(
    type_: str,
    body: dict[str, Any],
    sender: str = "440300",
    msgid: str | None = None,
    sent_at: datetime | None = None,
) -> dict[str, Any]:
    return {
        "msgid": msgid or new_msgid(sender),
        "type": type_,
        "sender": sender,
        "sent_at": (sent_at or stack_now()).isoformat(timespec="seconds"),
        "body": body,
    }


@dataclass
class Record:
    topic: str
    partition: int
    offset: int
    key: str | None
    value: Any
    headers: dict[str, str]
    raw: bytes = b""
    """The value's exact bytes (what a signature covers)."""


def client(bootstrap: str, principal: str = ADMIN) -> dict[str, Any]:
    """Options of an aiokafka client of the tests: `admin` unless a test plays another principal (the passwords:
    the test stack's secrets file, MEDAID_SECRETS_FILE, which tests/conftest.py sets)."""
    return kafka_client(PlatformSettings(kafka_bootstrap=bootstrap), principal)


async def create_topics(bootstrap: str, names: list[str], partitions: int = 1) -> None:
    admin = AIOKafkaAdminClient(**client(bootstrap))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        new = [NewTopic(n, partitions, 1) for n in names if n not in existing]
        if new:
            await admin.create_topics(new)
    finally:
        await admin.close()


class Publisher:
    def __init__(self, bootstrap: str, principal: str = ADMIN, *, signed: bool = True) -> None:
        """Sends as the provinces do: every record that carries an envelope signed with its sender's key
        (docs/signing.md), unless `signed=False`."""
        self._producer = AIOKafkaProducer(**client(bootstrap, principal), enable_idempotence=True, acks="all")
        self._keys = SigningKeys.load(signing_keys_path(PlatformSettings())) if signed else None

    async def __aenter__(self) -> Publisher:
        await self._producer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._producer.stop()

    async def send(self, topic: str, value: dict[str, Any] | bytes, key: str | None = None) -> None:
        raw = value if isinstance(value, bytes) else json.dumps(value, ensure_ascii=False).encode()
        headers = self._keys.record_headers(raw) if self._keys is not None else []
        await self._producer.send_and_wait(topic, raw, key=key.encode() if key else None, headers=headers)

    async def send_raw(self, topic: str, raw: bytes, key: str, headers: list[tuple[str, bytes]]) -> None:
        """Bytes with the headers given (a record signed some other way), as they are."""
        await self._producer.send_and_wait(topic, raw, key=key.encode(), headers=headers)


class Watcher:
    """Reads topics from their end at the moment it started; collects everything after that."""

    def __init__(self, bootstrap: str, topics: list[str]) -> None:
        self.bootstrap = bootstrap
        self.topics = topics
        self.records: list[Record] = []
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Watcher:
        c = AIOKafkaConsumer(**client(self.bootstrap), group_id=None, enable_auto_commit=False)
        await c.start()
        parts = []
        for t in self.topics:
            for p in c.partitions_for_topic(t) or await _partitions(c, t):
                parts.append(TopicPartition(t, p))
        c.assign(parts)
        await c.seek_to_end(*parts)
        for tp in parts:
            await c.position(tp)  # resolve the end offsets now, before the test publishes
        self._consumer = c
        self._task = asyncio.create_task(self._pump())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task
        assert self._consumer
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        await self._consumer.stop()

    async def _pump(self) -> None:
        assert self._consumer
        while True:
            batch = await self._consumer.getmany(timeout_ms=200)
            for recs in batch.values():
                for r in recs:
                    try:
                        value = json.loads(r.value)
                    except ValueError:
                        value = r.value
                    headers = {k: v.decode() for k, v in (r.headers or [])}
                    key = r.key.decode() if r.key else None
                    self.records.append(Record(r.topic, r.partition, r.offset, key, value, headers, r.value or b""))

    def matching(self, predicate: Callable[[Record], bool]) -> list[Record]:
        return [r for r in self.records if predicate(r)]

    async def wait_for(
        self, predicate: Callable[[Record], bool], count: int = 1, timeout: float = 30.0
    ) -> list[Record]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.matching(predicate)
            if len(found) >= count:
                return found
            await asyncio.sleep(0.05)
        found = self.matching(predicate)
        raise AssertionError(f"waited {timeout}s for {count} record(s), saw {len(found)}: {[r.value for r in found]}")

    def results_for(self, msgid: str) -> list[Record]:
        return self.matching(
            lambda r: (
                isinstance(r.value, dict)
                and r.value.get("type") == "request.result"
                and r.value["body"].get("omsgid") == msgid
            )
        )

    async def result_for(self, msgid: str, timeout: float = 90.0) -> dict[str, Any]:
        """The answer to `msgid` (the bound only ends a test that would hang: 200 concurrent families on a busy
        2-core machine have answered some requests after 35 s)."""
        recs = await self.wait_for(
            lambda r: (
                isinstance(r.value, dict)
                and r.value.get("type") == "request.result"
                and r.value["body"].get("omsgid") == msgid
            ),
            timeout=timeout,
        )
        body: dict[str, Any] = recs[0].value["body"]
        return body


async def _partitions(c: AIOKafkaConsumer, topic: str) -> set[int]:
    await c._client.force_metadata_update()
    return c.partitions_for_topic(topic) or {0}
