"""The provinces keep the platform's business time; on the local stack the simulator moves it, forward, for every
service at once (tools/clock.py): into the daytime (--daytime), through the night (--night). The month's end
(--month-end) is in month_end.py."""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import datetime, timedelta

from shared.clock import BUSINESS_TZ
from tools import clock as stack_clock
from tools.simulator.state import RunState


async def same_clock_as_the_services(state: RunState) -> list[str]:
    """Each running service's recorded offset, where it is not the simulator's: the platform has one clock."""
    records = await stack_clock.recorded_clocks(state.settings)
    wrong = stack_clock.on_another_clock(records, state.settings.clock_offset_seconds)
    return [
        f"{s} runs at real time {row['offset_seconds']:+.0f} s"
        for s, row in records.items()
        if s in wrong and isinstance(row, dict)
    ]


async def move_the_clock(state: RunState, to: datetime) -> None:
    """Local stack only: the whole platform's business time moves forward to `to` (every service restarted on the
    new offset at once), and the provinces' with it."""
    state.env = await asyncio.to_thread(stack_clock.move_to, to, state.env)
    offset = float(state.env["MEDAID_CLOCK_OFFSET_SECONDS"])
    state.settings = state.settings.model_copy(update={"clock_offset_seconds": offset})


async def into_the_daytime(state: RunState) -> None:
    """Outside 06:00-21:00 business time, the platform's clock moves on to the next 10:00."""
    morning = stack_clock.next_daytime(state.business_now())
    if morning is not None:
        print(f"  business time is night: the platform's clock moves on to {morning.isoformat()}", file=sys.stderr)
        await move_the_clock(state, morning)


async def pass_the_night(state: RunState, deadline: float) -> None:
    """Local stack only: the platform's clock moves on to 05:59:58 the next business morning, so the wallet's
    sweep returns what nobody accepted by 06:00."""
    traffic = state.traffic
    waiting = [
        b["transfer_id"]
        for a in traffic.results.values()
        for _, b in a[:1]
        if b["otype"] == "transfer.requested"
        and b["status"] == "accepted"
        and b["transfer_id"] not in {n["transfer_id"] for n in traffic.notifications["transfer.completed"]}
        and b["transfer_id"] not in {n["transfer_id"] for n in traffic.notifications["transfer.returned"]}
    ]
    morning = (state.business_now() + timedelta(days=1)).replace(hour=5, minute=59, second=58, microsecond=0)
    # The wallet's own deadline, when it told one.
    expiries = [
        datetime.fromisoformat(n["expires_at"])
        for n in traffic.notifications["transfer.pending"]
        if n["transfer_id"] in waiting
    ]
    if expiries:
        morning = (min(expiries) - timedelta(seconds=2)).astimezone(BUSINESS_TZ)
    print(f"  the night passes: the platform's clock moves on to {morning.isoformat()}", file=sys.stderr)
    await move_the_clock(state, max(morning, state.business_now()))
    until = min(deadline, time.monotonic() + 20)
    while time.monotonic() < until:
        back = {n["transfer_id"] for n in traffic.notifications["transfer.returned"] if n["reason"] == "expired"}
        if set(waiting) <= back:
            break
        await asyncio.sleep(0.1)
