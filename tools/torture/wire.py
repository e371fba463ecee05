"""Sending as the provinces: every record signed by its sender's key (the simulator's producer and watcher,
tools/simulator/provinces.py), remembered with its exact bytes (a resend is the same bytes again), several at once
when a step races them, and held back while the stack's clock moves (a record signed before a clock move would
be stale after it)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from tools.simulator.provinces import Provinces
from tools.simulator.state import RunState

log = logging.getLogger("torture")
Message = tuple[str, dict[str, Any], str]
"""(topic, envelope, record key)."""
ANSWER_PATIENCE = 120.0
"""Seconds a family waits for an answer before it goes on (a fault can hold answers back for a while)."""


@dataclass
class Sent:
    type: str
    topic: str
    key: str
    raw: bytes
    sender: str
    sends: int = 0  # records published with these bytes (resends, and retries while the broker was away)
    family: int | None = None


class Wire:
    def __init__(self, state: RunState, provinces: Provinces) -> None:
        self.state = state
        self.provinces = provinces
        self.sent: dict[str, Sent] = {}
        self.resends: Counter[str] = Counter()  # type -> resends on purpose
        self.by_family: defaultdict[int, list[str]] = defaultdict(list)  # what each family sent, in order
        self.open = asyncio.Event()
        self.open.set()
        self.stopping = False

    @property
    def traffic(self) -> Any:
        return self.state.traffic

    async def publish(self, messages: list[Message], family: int | None = None) -> list[str]:
        """Publishes the messages at once (no answer awaited in between); returns their msgids."""
        await self.open.wait()
        records: list[tuple[str, bytes]] = []
        now = self.state.business_now().isoformat(timespec="seconds")
        for topic, msg, key in messages:
            msg["sent_at"] = now  # made before the gate, maybe before a clock move: stamped as it leaves
            raw = json.dumps(msg, ensure_ascii=False).encode()
            self.sent[msg["msgid"]] = Sent(msg["type"], topic, key, raw, msg["sender"], family=family)
            records.append((msg["msgid"], raw))
            if family is not None:
                self.by_family[family].append(msg["msgid"])
        await asyncio.gather(*(self._deliver(m) for m, _ in records))
        return [m for m, _ in records]

    async def resend(self, msgids: list[str]) -> None:
        """The same records again, byte for byte (a province that timed out): each must get the original answer."""
        await self.open.wait()
        for m in msgids:
            self.resends[self.sent[m].type] += 1
        await asyncio.gather(*(self._deliver(m) for m in msgids))

    async def _deliver(self, msgid: str) -> None:
        s = self.sent[msgid]
        producer = self.provinces.producer
        headers = self.state.keys.record_headers(s.raw)
        for attempt in range(30):
            s.sends += 1
            try:
                future = await producer.send(s.topic, s.raw, key=s.key.encode(), headers=headers)
                await future
                return
            except Exception as exc:  # noqa: BLE001 - the broker may be away (a fault): the province tries again
                log.info("send of %s failed (attempt %d): %s", msgid, attempt + 1, exc)
                await asyncio.sleep(min(2.0 * (attempt + 1), 10.0))
        raise RuntimeError(f"could not publish {msgid} in 30 attempts")

    async def answers(self, msgids: list[str], patience: float = ANSWER_PATIENCE) -> list[dict[str, Any] | None]:
        """The first answer to each message, waited for at most `patience` seconds (None: none came)."""
        until = time.monotonic() + patience
        while time.monotonic() < until and not all(self.traffic.answer(m) for m in msgids):
            await asyncio.sleep(0.05)
        return [self.traffic.answer(m) for m in msgids]

    async def ask(self, messages: list[Message], family: int | None = None) -> list[dict[str, Any] | None]:
        """Publishes the messages at once and waits for their answers."""
        return await self.answers(await self.publish(messages, family))

    def unanswered(self) -> list[str]:
        return [m for m in self.sent if not self.traffic.answer(m)]

    async def quiesce(self, patience: float) -> list[str]:
        """Holds new records back and waits until everything sent has an answer (or `patience` seconds): the
        msgids still unanswered. `reopen` lets records go again."""
        self.open.clear()
        until = time.monotonic() + patience
        while self.unanswered() and time.monotonic() < until:
            await asyncio.sleep(0.1)
        return self.unanswered()

    def reopen(self) -> None:
        self.open.set()
