"""The run: the registry, the families living concurrently (tools/torture/episodes.py) while the stack is broken
and its clock moved (tools/torture/stack.py), then quiescence, the next morning, the members' statements, the
invariants (tools/torture/checks.py) and the summary (tools/torture/report.py)."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from rich.console import Console

from services.payment.adapters import books as payment_books
from services.wallet.adapters import books as wallet_books
from shared.db.pool import connect
from shared.settings import PlatformSettings
from tools.books import platform_books
from tools.simulator.books_check import quiet
from tools.simulator.clock_moves import into_the_daytime, same_clock_as_the_services
from tools.simulator.messages import envelope
from tools.simulator.provinces import on_the_wire
from tools.simulator.registry import institutions
from tools.simulator.state import RunState
from tools.torture import episodes
from tools.torture.checks import Verdict, verdict
from tools.torture.report import summary
from tools.torture.stack import Stack, fault_plan, month_plan
from tools.torture.wire import Message, Wire
from tools.torture.world import ALL_REGIONS, Family, drawing, make_families


@dataclass(frozen=True)
class Options:
    duration: float
    seed: int
    faults: list[str]
    families: int
    settle: float  # seconds to wait for every answer once the traffic stops


async def registry(state: RunState, wire: Wire, seed: int) -> None:
    """Every region's wallet switch and its hospitals and pharmacies, from the regions' own provinces."""
    plan = []
    with drawing(state, random.Random(f"torture:{seed}:registry")):
        for region, (_, on) in ALL_REGIONS.items():
            switch = envelope(state, "region.wallet-status-changed", {"admdvs": region, "wallet_enabled": on}, region)
            plan += [("ingress.registry.v1", switch, region, "completed"), *institutions(state, region)]
    await wire.ask([episodes.message(step) for step in plan])


async def life(f: Family, wire: Wire, until: float, played: Counter[str]) -> None:
    """A family: its setup, then one episode after another until the traffic stops."""
    await episodes.setup(f, wire)
    while time.monotonic() < until:
        name, rng = episodes.next_episode(f)
        played[name] += 1
        await episodes.EPISODES[name][1](f, wire, rng)
        await asyncio.sleep(rng.uniform(0.0, 0.3))


async def sagas_final(state: RunState, patience: float) -> None:
    """Waits (bounded) until no transfer waits and no settlement is debiting or cancelling: the sweeps run on
    their own schedule after the clock moved."""
    until = time.monotonic() + patience
    while time.monotonic() < until:
        wallet = await connect(state.settings.dsn("wallet"))
        payment = await connect(state.settings.dsn("payment"))
        try:
            now = state.business_now()
            readings = [*await wallet_books.saga_states(wallet, now), *await payment_books.saga_states(payment, now)]
        finally:
            await wallet.close()
            await payment.close()
        if not any(r.count for r in readings if r.oldest_age_seconds is not None):
            return
        await asyncio.sleep(0.5)


async def statements(wire: Wire, families: list[Family], from_date: str) -> dict[str, dict[str, Any]]:
    """Each member's wallet.statement from the run's first business day to today, every page, asked through their
    (current) insured province: psn_no -> the statement, its movements joined."""
    people = {p.psn_no: p for f in families for p in f.people}
    out: dict[str, dict[str, Any]] = {}
    pending: dict[str, dict[str, Any]] = {}  # psn_no -> the body asked, cursor included
    for psn in people:
        pending[psn] = episodes.statement(wire, people[psn], from_date)[1]["body"]
    while pending:
        asked: dict[str, str] = {}
        messages: list[Message] = []
        for psn, body in pending.items():
            msg = envelope(wire.state, "wallet.statement-requested", body, people[psn].region)
            messages.append((episodes.WALLET, msg, psn))
            asked[msg["msgid"]] = psn
        await wire.ask(messages)
        until = time.monotonic() + 30
        by_omsgid: dict[str, dict[str, Any]] = {}
        while time.monotonic() < until and len(by_omsgid) < len(asked):
            by_omsgid = {b["omsgid"]: b for b in wire.traffic.notifications["wallet.statement"] if b["omsgid"] in asked}
            await asyncio.sleep(0.1)
        pending = {}
        for msgid, page in by_omsgid.items():
            psn = asked[msgid]
            if psn in out:
                out[psn]["movements"] += page["movements"]
            else:
                out[psn] = {**page, "movements": list(page["movements"])}
            if page.get("next_cursor"):
                pending[psn] = {**page_body(wire, msgid), "cursor": page["next_cursor"]}
    return out


def page_body(wire: Wire, msgid: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(wire.sent[msgid].raw)["body"]
    return body


async def torture(settings: PlatformSettings, opts: Options, console: Console) -> bool:
    state = RunState.start(settings, 0, random.SystemRandom().randrange(2**62))  # identities: unique per run
    wrong = await same_clock_as_the_services(state)
    if wrong:
        console.print(f"the services run on another business clock than this run: {', '.join(wrong)}")
        return False
    await into_the_daytime(state)
    from_date = state.business_now().date().isoformat()
    begun_at = state.business_now().isoformat(timespec="seconds")
    played: Counter[str] = Counter()
    async with on_the_wire(state, opts.duration + opts.settle + 900) as provinces:
        wire = Wire(state, provinces)
        await registry(state, wire, opts.seed)
        families = make_families(state, opts.families, opts.seed)
        stack = Stack(state, wire)
        faults = fault_plan(random.Random(f"torture:{opts.seed}:faults"), opts.faults, opts.duration)
        months = month_plan(random.Random(f"torture:{opts.seed}:months"), opts.duration)
        until = time.monotonic() + opts.duration
        breaking = [asyncio.create_task(stack.faults(faults)), asyncio.create_task(stack.months(months))]
        await asyncio.gather(*(life(f, wire, until, played) for f in families))
        wire.stopping = True
        await asyncio.gather(*breaking)
        await stack.act("services that exited started again", "services.sh", "start")
        stack.note(f"traffic stopped; {len(wire.unanswered())} messages still unanswered")
        await stack.next_morning()
        await sagas_final(state, 90)
        await quiet(state, time.monotonic() + 120, patience=60)
        told = await statements(wire, families, from_date)
        books = await platform_books(state.settings)
        v: Verdict = await verdict(state, wire, families, told, books)
    v.checks["the stack did what the run asked (faults, clock moves)"] = stack.broken
    v.checks["every answer in before each clock move"] = [f"{wire.sent[m].type} {m}" for m in stack.stale]
    head = [
        f"seed {opts.seed}: {opts.duration:.0f} s of traffic, {opts.families} families in {len(ALL_REGIONS)} regions "
        f"of {len({r[:2] for r in ALL_REGIONS})} provinces, faults: {', '.join(opts.faults) or 'none'} "
        f"({len(faults)} planned); clock moves to the next month: {len(months)}",
        f"business time {begun_at} -> {state.business_now().isoformat(timespec='seconds')}; statements read at the "
        f"end: {len(told)} of {len({p.psn_no for f in families for p in f.people})} members",
        f"again: python -m tools.torture --duration {opts.duration:.0f} --seed {opts.seed} "
        f"--faults {','.join(opts.faults) or 'none'} --families {opts.families}",
    ]
    summary(console, head=head, wire=wire, episodes=played, stack_log=stack.log, v=v)
    return v.ok
