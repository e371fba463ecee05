"""What the torture run does to the stack itself: faults (a service SIGKILLed and started again, the broker stopped
and started, PostgreSQL stopped and started, each for a bounded outage, through the project's deploy/local
scripts as tools/crash_run.py does), and the business clock moved on (to the next month's first day at 10:00, so
the national operator closes the month that ended; and at the end past 06:00, so what nobody accepted goes back).
One thing at a time: a fault never overlaps a clock move. Both schedules are drawn from the seed."""

from __future__ import annotations

import asyncio
import random
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from services.clearing.domain.clearing import month_of
from shared.clock import BUSINESS_TZ
from shared.settings import SERVICES
from tools.crash_run import script
from tools.keys import LOCAL_NATIONAL_OPERATOR
from tools.simulator.clock_moves import move_the_clock
from tools.simulator.messages import envelope
from tools.simulator.state import RunState
from tools.torture.wire import Wire

FAULTS = ("kill", "broker", "postgres")
QUIESCE_PATIENCE = 180.0
"""Seconds a clock move waits for every answer first (a record signed before the move is stale after it)."""


@dataclass(frozen=True)
class Fault:
    at: float  # seconds into the traffic
    kind: str  # kill | broker | postgres
    service: str  # the service a kill takes
    outage: float  # seconds the server stays away


def fault_plan(rng: random.Random, kinds: list[str], duration: float) -> list[Fault]:
    """Faults at random times (about one a minute, none in the first 10 s), each of a kind asked for."""
    out: list[Fault] = []
    at = 10.0 + rng.uniform(0, 20)
    while kinds and at < duration - 10:
        out.append(Fault(at, rng.choice(kinds), rng.choice(SERVICES), round(rng.uniform(1.0, 5.0), 1)))
        at += rng.uniform(25, 75)
    return out


def month_plan(rng: random.Random, duration: float) -> list[float]:
    """When the clock moves on to the next month during the traffic: once, plus once per further 400 s."""
    n = 1 + int(duration // 400)
    return sorted(
        rng.uniform(0.3, 0.8) * duration if n == 1 else (i + rng.uniform(0.3, 0.7)) * duration / n for i in range(n)
    )


@dataclass
class Stack:
    state: RunState
    wire: Wire
    started: float = field(default_factory=time.monotonic)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    log: list[tuple[float, str]] = field(default_factory=list)  # (seconds into the run, what happened)
    broken: list[str] = field(default_factory=list)  # what the scripts could not do
    closes: list[str] = field(default_factory=list)  # the close requests' msgids
    stale: list[str] = field(default_factory=list)  # unanswered when the clock had to move anyway

    def note(self, what: str) -> None:
        self.log.append((time.monotonic() - self.started, what))
        print(f"  {self.log[-1][0]:7.1f} s  {what}", file=sys.stderr, flush=True)

    async def act(self, what: str, name: str, *args: str) -> None:
        try:
            what += await asyncio.to_thread(script, name, *args, env=self.state.env)  # on the clock as moved
        except SystemExit as exc:
            self.broken.append(f"{what}: {exc}")
            what += " FAILED"
        self.note(what)

    async def fault(self, f: Fault) -> None:
        async with self.lock:
            if f.kind == "kill":
                await self.act(f"{f.service} SIGKILLed", "services.sh", "kill", f.service)
                await asyncio.sleep(f.outage)
                await self.act(f"{f.service} started", "services.sh", "start", f.service)
                return
            name, label = ("kafka.sh", "Kafka") if f.kind == "broker" else ("postgres.sh", "PostgreSQL")
            await self.act(f"{label} stopped", name, "stop")
            await asyncio.sleep(f.outage)
            await self.act(f"{label} started", name, "start")
            await self.act("services that exited started again", "services.sh", "start")

    async def wait_until(self, at: float) -> bool:
        """Sleeps until `at` seconds into the run: False if the traffic stopped first."""
        while time.monotonic() < self.started + at:
            if self.wire.stopping:
                return False
            await asyncio.sleep(min(0.5, self.started + at - time.monotonic()))
        return not self.wire.stopping

    async def faults(self, plan: list[Fault]) -> None:
        for f in plan:
            if not await self.wait_until(f.at):
                return
            await self.fault(f)

    async def move_to(self, to: datetime) -> None:
        """Every answer in first (bounded), then the whole platform's clock on to `to`."""
        async with self.lock:
            self.stale += await self.wire.quiesce(QUIESCE_PATIENCE)
            try:
                await move_the_clock(self.state, max(to, self.state.business_now()))
            finally:
                self.wire.reopen()
            self.note(f"business clock moved on to {self.state.business_now().isoformat(timespec='seconds')}")

    async def month_end(self) -> None:
        """The clock on to the next month's first day at 10:00; the national operator closes the month that ended
        (and resends the same request at once)."""
        now = self.state.business_now()
        period = month_of(now)
        first = (now.replace(day=28) + timedelta(days=4)).replace(day=1, hour=10, minute=0, second=0, microsecond=0)
        await self.move_to(first.astimezone(BUSINESS_TZ))
        close = envelope(self.state, "clearing.close-requested", {"period": period}, LOCAL_NATIONAL_OPERATOR)
        ids = await self.wire.publish([("ingress.clearing.v1", close, period)])
        await self.wire.resend(ids)
        self.closes += ids
        (a,) = await self.wire.answers(ids)
        self.note(
            f"month {period} close requested: {a['status'] if a else 'no answer'} {(a and a.get('reason_code')) or ''}"
        )

    async def months(self, at: list[float]) -> None:
        for t in at:
            if not await self.wait_until(t):
                return
            await self.month_end()

    async def next_morning(self) -> None:
        """At the end: the clock on to 10:00 the next business day, past the 06:00 return of waiting transfers."""
        now = self.state.business_now()
        await self.move_to((now + timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0))
