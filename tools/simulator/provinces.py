"""The provinces on the wire: a producer sending (and signing) as each province, a consumer recording every answer,
notification, event and DLQ record into the run's traffic, and each phase's plan published and waited for."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from rich.console import Console

from shared.contracts.province import INGRESS
from shared.contracts.topics import EVENT_TOPICS, INGRESS_TOPICS, PROVINCE_TOPICS, dlq_topic
from shared.messaging.security import SIMULATOR, kafka_client
from tools.simulator.model import Plan, Sent, Traffic
from tools.simulator.state import RunState

STDERR = Console(stderr=True, width=160, highlight=False)
"""Progress through the phases, on a terminal (rich renders nothing animated into a log)."""

Phase = Callable[[RunState], Plan]
"""A phase: what the provinces send next, from what they know so far."""


@dataclass
class Provinces:
    state: RunState
    producer: AIOKafkaProducer
    deadline: float  # time.monotonic() by which every answer must have come

    async def run_phase(self, name: str, phase: Phase) -> bool:
        """Publishes the phase's plan and waits for every answer it expects: False if they did not come in time."""
        await asyncio.sleep(1.0)  # other services learn of the last phase from events; provinces are not that fast
        started = time.monotonic()
        plan = phase(self.state)
        done = await self.publish_and_wait(plan)
        if name == "answers" and plan:  # the recipients' answers to transfers: the saga's throughput, for the summary
            elapsed = time.monotonic() - started
            self.state.transfer_rate = (
                f"{len(plan)} recipient answers settled in {elapsed:.2f} s ({len(plan) / elapsed:.0f}/s)"
            )
        STDERR.print(
            f"  {name}: {len(plan)} messages answered in {time.monotonic() - started:.1f} s"
            f"{'' if done else ' [bold red](NOT ALL ANSWERED IN TIME)[/]'}",
            highlight=False,
        )
        return done

    async def publish_and_wait(self, plan: Plan) -> bool:
        traffic = self.state.traffic
        expected_dlq = len(traffic.dlq) + sum(
            1
            for _, v, _, e in plan
            if "INVALID" in e or e == "dlq only" or (isinstance(v, dict) and v["type"] not in INGRESS)
        )
        msgids = []
        for topic, value, key, expect in plan:
            raw = value if isinstance(value, bytes) else json.dumps(value, ensure_ascii=False).encode()
            msgid = (
                value["msgid"] if isinstance(value, dict) else (self.state.bad_msgid if expect != "dlq only" else None)
            )
            if msgid:
                type_ = value["type"] if isinstance(value, dict) else "account.credited"
                traffic.sent.setdefault(msgid, Sent(type_, topic, time.monotonic(), expect))
                msgids.append(msgid)
            await self.producer.send(topic, raw, key=key.encode(), headers=self.state.keys.record_headers(raw))
        await self.producer.flush()
        while time.monotonic() < self.deadline:
            if all(m in traffic.results for m in msgids) and len(traffic.dlq) >= expected_dlq:
                return True
            await asyncio.sleep(0.05)
        return False


@asynccontextmanager
async def on_the_wire(state: RunState, wait_seconds: float) -> AsyncIterator[Provinces]:
    """The provinces' clients, joined at the end of every output topic before anything is published."""
    outputs = [*PROVINCE_TOPICS, *EVENT_TOPICS.values(), *(dlq_topic(t) for t in INGRESS_TOPICS)]
    consumer = AIOKafkaConsumer(
        *outputs, **kafka_client(state.settings, SIMULATOR), group_id=None, auto_offset_reset="latest"
    )
    await consumer.start()
    await consumer.getmany(timeout_ms=500)  # join the topics' ends before publishing
    for tp in consumer.assignment():
        await consumer.position(tp)
    stop = asyncio.Event()
    watcher = asyncio.create_task(watch(consumer, state.traffic, stop))
    producer = AIOKafkaProducer(**kafka_client(state.settings, SIMULATOR), enable_idempotence=True, acks="all")
    await producer.start()
    try:
        yield Provinces(state, producer, time.monotonic() + wait_seconds)
    finally:
        stop.set()
        await watcher
        await producer.stop()
        await consumer.stop()


async def watch(consumer: AIOKafkaConsumer, traffic: Traffic, stop: asyncio.Event) -> None:
    while not stop.is_set():
        for recs in (await consumer.getmany(timeout_ms=200)).values():
            now = time.monotonic()
            for r in recs:
                try:
                    value = json.loads(r.value)
                except ValueError:
                    continue
                record(traffic, r.topic, value, now)


def record(traffic: Traffic, topic: str, value: dict[str, Any], now: float) -> None:
    """One record the provinces saw: a DLQ record, an answer, a notification to a province, or an event."""
    if topic.endswith(".dlq"):
        traffic.dlq.append(value["body"])
    elif value.get("type") == "request.result":
        traffic.results[value["body"]["omsgid"]].append((now, value["body"]))
        traffic.answer_msgids[value["body"]["omsgid"]].add(value.get("msgid", ""))
    elif topic.startswith("province."):
        traffic.notifications[value["type"]].append(value["body"])
    else:
        traffic.events[value.get("type", "?")] += 1
        if value.get("type") in ("clearing.month-closed", "clearing.obligation-recorded"):
            traffic.event_bodies[value["type"]].append(value["body"])
