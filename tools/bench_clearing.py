"""Month-close benchmark: `python -m tools.bench_clearing [--items N]` against a running platform (make up).

1. Load (set-up, timed apart): N synthetic obligations of one fresh month straight into the clearing
   schema's `items` (COPY as the clearing role), then VACUUM ANALYZE as autovacuum would have by the
   month's end. 337 pooling regions over the 31 provinces (each province's prefecture-level count;
   codes `pp` + 2-digit city + `00`); debtor (funding) and creditor (spending) regions drawn Zipf-like
   over two different seeded orders, so a few pairs are heavy; amounts log-normal around 131 yuan
   (exact to the fen); about 3% reverse items, each cancelling an earlier forward item of the month
   (same settlement, portion, pair and amount: `<setl_id>:<seq>:f` / `:r`).
   The month is the first from 201001 upward with no row in `periods` and no items, so every run
   takes a fresh month and the benchmark repeats on the same stack without wiping.
2. Measure: publish `clearing.close-requested` on `ingress.clearing.v1` and time, through the real
   broker, until its `request.result` arrives on the sender's province topic and until every
   region's `clearing.statement-issued` has arrived on the province topics.
3. Verify: `pair_totals` and `statements` in the clearing schema against the generated data (per region
   owes and owed to the fen), statements' net sums to zero, sum of owes = the month's gross.

`--direct` first times `services.clearing.service_layer.close_month.close_month_now` in one transaction on the
same month without the broker (per query), then rolls it back; `--explain` adds EXPLAIN (ANALYZE, BUFFERS) of
each of its queries (in a savepoint, rolled back).

The items have no payments behind them: `python -m tools.books` compares clearing with the payment
service and will report the difference afterwards (use a stack you can `make wipe`).
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import json
import math
import random
import statistics
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from services.clearing.domain import commands
from services.clearing.domain.clearing import has_ended, next_month
from services.clearing.entrypoints.unit_of_work import postgres_context
from services.clearing.service_layer.close_month import close_month_now
from shared.caller import Caller
from shared.clock import BUSINESS_TZ, BusinessClock
from shared.contracts.topics import CLEARING_EVENTS, INGRESS_CLEARING, PROVINCE_TOPICS, PROVINCES, province_topic
from shared.db.pool import Conn, connect
from shared.messaging.security import SIMULATOR, kafka_client
from shared.settings import PlatformSettings, signing_keys_path
from shared.signing import SigningKeys
from tools.clock import stack_now
from tools.keys import LOCAL_NATIONAL_OPERATOR

# Pooling regions per province: the prefecture-level divisions (the four municipalities are one each).
REGIONS_PER_PROVINCE: dict[str, int] = {
    "11": 1, "12": 1, "13": 11, "14": 11, "15": 12, "21": 14, "22": 9, "23": 13, "31": 1, "32": 13, "33": 11,
    "34": 16, "35": 9, "36": 11, "37": 16, "41": 17, "42": 13, "43": 14, "44": 21, "45": 14, "46": 4, "50": 1,
    "51": 21, "52": 9, "53": 16, "54": 7, "61": 10, "62": 14, "63": 8, "64": 5, "65": 14,
}  # fmt: skip
FIRST_MONTH = "201001"
MEAN_YUAN = 131.0
SIGMA = 1.0  # of the log-normal amount: median about 79 yuan, a long tail of large bills
MAX_CENTS = 5_000_000
TWO_PORTIONS = 0.08  # settlements funded from two regions (two providers' quota)
COLUMNS = (
    "item_id",
    "setl_id",
    "seq",
    "direction",
    "period",
    "natural_month",
    "debtor_admdvs",
    "creditor_admdvs",
    "amount",
    "source",
    "purpose",
    "recorded_at",
)


def regions() -> list[str]:
    out = [f"{pp}{city:02d}00" for pp, n in REGIONS_PER_PROVINCE.items() for city in range(1, n + 1)]
    assert {r[:2] + "0000" for r in out} == set(PROVINCES)
    return out


def zipf_cum_weights(n: int, s: float) -> list[float]:
    total, out = 0.0, []
    for rank in range(1, n + 1):
        total += 1.0 / rank**s
        out.append(total)
    return out


@dataclass
class Plan:
    """A month's obligations, generated up front (compactly) so the expected totals are known exactly."""

    period: str
    regions: list[str]
    setl: list[int] = field(default_factory=list)
    seq: list[int] = field(default_factory=list)
    debtor: list[int] = field(default_factory=list)
    creditor: list[int] = field(default_factory=list)
    cents: list[int] = field(default_factory=list)
    second: list[int] = field(default_factory=list)  # recorded at, seconds into the month
    source: list[bool] = field(default_factory=list)  # True: wallet quota, False: the provider's own account
    reversed_: list[int] = field(default_factory=list)  # forward indexes cancelled, in order
    reverse_second: list[int] = field(default_factory=list)

    @property
    def forward(self) -> int:
        return len(self.cents)

    @property
    def items(self) -> int:
        return self.forward + len(self.reversed_)

    def signed_by_pair(self) -> dict[tuple[str, str], int]:
        """(debtor, creditor) -> cents, forward minus reverse."""
        pairs: dict[tuple[int, int], int] = defaultdict(int)
        for d, c, a in zip(self.debtor, self.creditor, self.cents, strict=True):
            pairs[d, c] += a
        for i in self.reversed_:
            pairs[self.debtor[i], self.creditor[i]] -= self.cents[i]
        return {(self.regions[d], self.regions[c]): a for (d, c), a in pairs.items()}

    def rows(self) -> Iterator[tuple[Any, ...]]:
        """The items in COLUMNS order: every forward item, then the reverse ones (recorded later)."""
        start = datetime(int(self.period[:4]), int(self.period[4:]), 1, tzinfo=BUSINESS_TZ)
        p, r = self.period, self.regions

        def row(i: int, direction: str, second: int) -> tuple[Any, ...]:
            setl_id = f"BENCH{p}{self.setl[i]:09d}"
            return (
                f"{setl_id}:{self.seq[i]}:{direction[0]}",
                setl_id,
                self.seq[i],
                direction,
                p,
                p,
                r[self.debtor[i]],
                r[self.creditor[i]],
                Decimal(self.cents[i]).scaleb(-2),
                "wallet" if self.source[i] else "provider_account",
                "settlement",
                start + timedelta(seconds=second),
            )

        for i in range(self.forward):
            yield row(i, "forward", self.second[i])
        for i, second in zip(self.reversed_, self.reverse_second, strict=True):
            yield row(i, "reverse", second)


def make_plan(period: str, items: int, reverse_share: float, zipf: float, seed: int) -> Plan:
    rng = random.Random(f"{seed}:{period}")
    regs = regions()
    n = len(regs)
    cum = zipf_cum_weights(n, zipf)
    debtor_order = list(range(n))
    creditor_order = list(range(n))
    rng.shuffle(debtor_order)  # the heavy funding regions ...
    rng.shuffle(creditor_order)  # ... and the heavy spending regions are different ones
    plan = Plan(period, regs)
    reverses = round(items * reverse_share)
    forward = items - reverses
    year, month = int(period[:4]), int(period[4:])
    month_seconds = (date(year + month // 12, month % 12 + 1, 1) - date(year, month, 1)).days * 86400
    mu = math.log(MEAN_YUAN * 100) - SIGMA**2 / 2
    total = cum[-1]

    def pick(order: list[int]) -> int:
        return order[bisect.bisect_left(cum, rng.random() * total)]

    setl = 0
    while plan.forward < forward:
        setl += 1
        creditor = pick(creditor_order)
        portions = 2 if rng.random() < TWO_PORTIONS and plan.forward + 1 < forward else 1
        second = rng.randrange(month_seconds - 3600)
        for seq in range(1, portions + 1):
            debtor = pick(debtor_order)
            while debtor == creditor:
                debtor = pick(debtor_order)
            plan.setl.append(setl)
            plan.seq.append(seq)
            plan.debtor.append(debtor)
            plan.creditor.append(creditor)
            plan.cents.append(max(1, min(MAX_CENTS, round(rng.lognormvariate(mu, SIGMA)))))
            plan.second.append(second)
            plan.source.append(rng.random() < 0.85)
    plan.reversed_ = sorted(rng.sample(range(plan.forward), reverses), key=lambda i: plan.second[i])
    plan.reverse_second = [rng.randrange(plan.second[i] + 1, month_seconds) for i in plan.reversed_]
    return plan


async def fresh_month(conn: Conn, clock: BusinessClock) -> str:
    """The first month from 201001 that is not closed and has no items (and has ended)."""
    period = FIRST_MONTH
    while True:
        if not has_ended(period, clock.now()):
            raise SystemExit(f"no fresh month left before {period}: `make wipe` and start again")
        used = await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM periods WHERE period = $1) OR EXISTS (SELECT 1 FROM items WHERE period = $1)",
            period,
        )
        if not used:
            return period
        period = next_month(period)


class TimedConn:
    """Passes a connection's queries through, timing each one (and optionally explaining it first)."""

    def __init__(self, conn: asyncpg.Connection[Any], explain: bool) -> None:
        self._conn = conn
        self._explain = explain
        self.timings: list[tuple[str, float]] = []
        self.plans: dict[str, str] = {}

    async def _run(self, how: str, query: str, *args: Any) -> Any:
        name = " ".join(query.split())[:90]
        if self._explain and not query.lstrip().upper().startswith("SELECT PG_ADVISORY"):
            savepoint = self._conn.transaction()
            await savepoint.start()
            try:
                plan = await self._conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {query}", *args)
                self.plans[name] = "\n".join(r[0] for r in plan)
            finally:
                await savepoint.rollback()
        started = time.monotonic()
        result = await getattr(self._conn, how)(query, *args)
        self.timings.append((name, time.monotonic() - started))
        return result

    async def execute(self, query: str, *args: Any) -> Any:
        return await self._run("execute", query, *args)

    async def fetch(self, query: str, *args: Any) -> Any:
        return await self._run("fetch", query, *args)

    async def fetchrow(self, query: str, *args: Any) -> Any:
        return await self._run("fetchrow", query, *args)

    async def fetchval(self, query: str, *args: Any) -> Any:
        return await self._run("fetchval", query, *args)


async def close_directly(settings: PlatformSettings, period: str, explain: bool) -> None:
    """close_month in one transaction on this connection, no broker; rolled back afterwards."""
    conn = await connect(settings.dsn("clearing"))
    timed = TimedConn(conn, explain)
    clock = BusinessClock(settings.clock_offset_seconds)
    tx = conn.transaction()
    await tx.start()
    try:
        started = time.monotonic()
        cmd = commands.CloseMonthNow(period, "bench:direct")
        decision = await close_month_now(cmd, postgres_context(cast(Conn, timed), Caller(clock)))
        elapsed = time.monotonic() - started
    finally:
        await tx.rollback()
        await conn.close()
    if decision.status != "completed":
        raise SystemExit(f"direct close of {period}: {decision.status} {decision.reason_code} {decision.reason}")
    sql = sum(t for _, t in timed.timings)
    print(
        f"direct close_month (one transaction, no broker, rolled back): {elapsed:.2f} s, of which SQL {sql:.2f} s "
        f"in {len(timed.timings)} queries; {len(decision.messages)} messages built"
    )
    for name, seconds in sorted(timed.timings, key=lambda t: -t[1])[:6]:
        print(f"  {seconds:8.3f} s  {name}")
    if explain:
        for name, _ in sorted(timed.timings, key=lambda t: -t[1])[:4]:
            if name in timed.plans:
                print(f"\nEXPLAIN (ANALYZE, BUFFERS) {name}\n{timed.plans[name]}")
        print()


@dataclass
class Arrivals:
    period: str
    msgid: str
    result: tuple[float, dict[str, Any]] | None = None
    month_closed: tuple[float, dict[str, Any]] | None = None
    statements: dict[str, tuple[float, dict[str, Any], int, str]] = field(default_factory=dict)
    created: list[float] = field(
        default_factory=list
    )  # the statements' record timestamps (broker append time, epoch s)
    duplicates: int = 0


async def watch(consumer: AIOKafkaConsumer, seen: Arrivals) -> None:
    while True:
        for recs in (await consumer.getmany(timeout_ms=100)).values():
            now = time.monotonic()
            for r in recs:
                try:
                    v = json.loads(r.value)
                except ValueError:
                    continue
                body = v.get("body") or {}
                if v.get("type") == "request.result" and body.get("omsgid") == seen.msgid:
                    seen.result = seen.result or (now, body)
                elif v.get("type") == "clearing.statement-issued" and body.get("period") == seen.period:
                    if body["admdvs"] in seen.statements:
                        seen.duplicates += 1
                    else:
                        seen.statements[body["admdvs"]] = (now, body, len(r.value), r.topic)
                        seen.created.append(r.timestamp / 1000)
                elif v.get("type") == "clearing.month-closed" and body.get("period") == seen.period:
                    seen.month_closed = seen.month_closed or (now, body)


async def close_through_broker(
    settings: PlatformSettings, period: str, sender: str, regions_expected: int, wait_seconds: float
) -> tuple[Arrivals, float, float]:
    consumer = AIOKafkaConsumer(
        **kafka_client(settings, SIMULATOR), group_id=None, enable_auto_commit=False, fetch_max_bytes=64 << 20
    )
    await consumer.start()
    await consumer._client.force_metadata_update()  # as tests/support/kafka.py: partitions of unsubscribed topics
    topics = (*PROVINCE_TOPICS, CLEARING_EVENTS)
    missing = [t for t in topics if not consumer.partitions_for_topic(t)]
    if missing:
        await consumer.stop()
        raise SystemExit(f"topics missing on {settings.kafka_bootstrap}: {missing[:3]} (make up creates them)")
    parts = [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t))]
    consumer.assign(parts)
    await consumer.seek_to_end(*parts)
    for tp in parts:
        await consumer.position(tp)  # the end offsets now, before the close is published
    msgid = f"{sender}{datetime.now(BUSINESS_TZ):%Y%m%d%H%M%S}{uuid.uuid4().int % 10**10:010d}"
    seen = Arrivals(period, msgid)
    watcher = asyncio.create_task(watch(consumer, seen))
    producer = AIOKafkaProducer(**kafka_client(settings, SIMULATOR), enable_idempotence=True, acks="all")
    await producer.start()
    try:
        value = {
            "msgid": msgid,
            "type": "clearing.close-requested",
            "sender": sender,
            "sent_at": stack_now().isoformat(timespec="seconds"),
            "body": {"period": period},
        }
        started, wall = time.monotonic(), time.time()
        raw = json.dumps(value).encode()
        signed = SigningKeys.load(signing_keys_path(settings)).record_headers(raw)
        await producer.send_and_wait(INGRESS_CLEARING, raw, key=period.encode(), headers=signed)
        deadline = started + wait_seconds
        last_report = started
        while time.monotonic() < deadline:
            done = seen.result is not None and (
                seen.result[1].get("status") != "completed" or len(seen.statements) >= regions_expected
            )
            if done:
                break
            if time.monotonic() - last_report >= 30:
                last_report = time.monotonic()
                print(
                    f"  ... {last_report - started:.0f} s: result {'in' if seen.result else 'not yet'}, "
                    f"{len(seen.statements)}/{regions_expected} statements",
                    file=sys.stderr,
                )
            await asyncio.sleep(0.02)
        await asyncio.sleep(1.0)  # a late duplicate or month-closed event
    finally:
        watcher.cancel()
        await producer.stop()
        await consumer.stop()
    return seen, started, wall


def yuan(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


async def bench(args: argparse.Namespace) -> int:
    settings = PlatformSettings()
    clock = BusinessClock(settings.clock_offset_seconds)
    conn = await connect(settings.dsn("clearing"))
    try:
        period = await fresh_month(conn, clock)
        t0 = time.monotonic()
        plan = make_plan(period, args.items, args.reverse_share, args.zipf, args.seed)
        t_plan = time.monotonic() - t0
        t0 = time.monotonic()
        await conn.copy_records_to_table("items", records=plan.rows(), columns=COLUMNS)
        t_copy = time.monotonic() - t0
        t0 = time.monotonic()
        await conn.execute("VACUUM (ANALYZE) items")
        t_vacuum = time.monotonic() - t0
    finally:
        await conn.close()
    by_pair = plan.signed_by_pair()
    owes: dict[str, int] = defaultdict(int)
    owed: dict[str, int] = defaultdict(int)
    for (d, c), a in by_pair.items():
        owes[d] += a
        owed[c] += a
    active = sorted(set(owes) | set(owed))
    pairs = {(min(d, c), max(d, c)) for d, c in by_pair}
    gross = sum(by_pair.values())
    forward_cents = sum(plan.cents)
    debtors = Counter(plan.debtor)
    pair_items = Counter(zip(plan.debtor, plan.creditor, strict=True))
    (hd, hc), heavy_n = pair_items.most_common(1)[0]
    print(
        f"month {period}: {plan.items} items ({plan.forward} forward, {len(plan.reversed_)} reverse) over "
        f"{len(active)} regions of {len(plan.regions)}, {len(pairs)} pairs; gross {yuan(gross)} yuan, "
        f"average forward item {forward_cents / plan.forward / 100:.2f} yuan"
    )
    print(
        f"  skew: heaviest pair {plan.regions[hd]}->{plan.regions[hc]} {heavy_n} items, heaviest funding region "
        f"{plan.regions[debtors.most_common(1)[0][0]]} {debtors.most_common(1)[0][1]} items "
        f"({debtors.most_common(1)[0][1] / plan.forward:.1%})"
    )
    print(
        f"load (set-up, not measured): generate {t_plan:.1f} s, COPY {t_copy:.1f} s "
        f"({plan.items / t_copy:,.0f} rows/s), VACUUM ANALYZE {t_vacuum:.1f} s"
    )

    if args.direct or args.explain:
        await close_directly(settings, period, args.explain)

    seen, started, wall = await close_through_broker(settings, period, args.sender, len(active), args.timeout)
    problems: list[str] = []
    if seen.result is None:
        problems.append(f"no request.result within {args.timeout:.0f} s")
    elif seen.result[1].get("status") != "completed":
        problems.append(f"close answered {seen.result[1]}")

    conn = await connect(settings.dsn("clearing"))
    try:
        row = await conn.fetchrow("SELECT items, statements FROM periods WHERE period = $1", period)
        n_pairs = await conn.fetchval("SELECT count(*) FROM pair_totals WHERE period = $1", period)
        sums = await conn.fetchrow(
            """SELECT count(*) AS n, COALESCE(sum(net), 0) AS net, COALESCE(sum(owes), 0) AS owes,
                      COALESCE(sum(owed), 0) AS owed, COALESCE(max(counterparts), 0) AS max_cp,
                      COALESCE(min(counterparts), 0) AS min_cp,
                      percentile_disc(0.5) WITHIN GROUP (ORDER BY counterparts) AS median_cp
               FROM statements WHERE period = $1""",
            period,
        )
        stored = {r["admdvs"]: r for r in await conn.fetch("SELECT * FROM statements WHERE period = $1", period)}
    finally:
        await conn.close()
    assert sums is not None
    if row is None:
        problems.append(f"{period} is not closed")
    elif row["items"] != plan.items:
        problems.append(f"periods.items {row['items']} != {plan.items} loaded")
    if n_pairs != len(pairs):
        problems.append(f"{n_pairs} pair_totals, {len(pairs)} pairs loaded")
    if sums["n"] != len(active):
        problems.append(f"{sums['n']} statements, {len(active)} regions have items")
    if sums["net"] != 0:
        problems.append(f"statements' net sums to {sums['net']}, not 0")
    if not sums["owes"] == sums["owed"] == yuan(gross):
        problems.append(f"sum of owes {sums['owes']} / owed {sums['owed']} != gross {yuan(gross)}")
    wrong = [
        a for a in active if a not in stored or stored[a]["owes"] != yuan(owes[a]) or stored[a]["owed"] != yuan(owed[a])
    ]
    if wrong:
        problems.append(f"{len(wrong)} statements differ from the loaded items: {wrong[:5]}")
    missing = [a for a in active if a not in seen.statements]
    if missing:
        problems.append(f"{len(missing)} statement notifications missing: {missing[:5]}")
    misrouted = [a for a, s in seen.statements.items() if s[3] != province_topic(a)]
    if misrouted:
        problems.append(f"statements on the wrong province topic: {misrouted[:5]}")
    if seen.duplicates:
        problems.append(f"{seen.duplicates} statement notifications arrived twice")

    print(
        f"closed: {sums['n']} statements, {n_pairs} pair totals; statements net {sums['net']}, "
        f"owes = owed = {sums['owes']} yuan (gross {yuan(gross)})"
    )
    if seen.statements:
        times = sorted(s[0] - started for s in seen.statements.values())
        sizes = [s[2] for s in seen.statements.values()]
        counterparts = [len(s[1]["counterparts"]) for s in seen.statements.values()]
        print(
            f"statement size: counterparts max {max(counterparts)}, median {statistics.median(counterparts):.0f}, "
            f"min {min(counterparts)}; message bytes max {max(sizes):,}, total {sum(sizes):,}"
        )
    if seen.result:
        print(f"close -> request.result ({seen.result[1].get('status')}): {seen.result[0] - started:.2f} s")
    if seen.month_closed:
        print(f"close -> clearing.month-closed event: {seen.month_closed[0] - started:.2f} s")
    if seen.statements:
        print(
            f"close -> statements: first {times[0]:.2f} s, last {times[-1]:.2f} s "
            f"({len(seen.statements)}/{len(active)} regions); appended to the topic (record timestamps) "
            f"{min(seen.created) - wall:.2f} .. {max(seen.created) - wall:.2f} s"
        )
    print(
        f"note: {period} now holds {plan.items} synthetic obligations (setl_id BENCH{period}...) with no payments "
        "behind them: `python -m tools.books` reports them as a clearing/payment difference"
    )
    for p in problems:
        print(f"PROBLEM: {p}")
    if not problems:
        print(
            f"OK: month of {plan.items} items closed end to end in {times[-1]:.2f} s "
            f"(result {seen.result[0] - started if seen.result else math.nan:.2f} s)"
        )
    return 1 if problems else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=100_000, help="obligations in the month (default 100000)")
    parser.add_argument("--reverse-share", type=float, default=0.03, help="share of reverse items (default 0.03)")
    parser.add_argument("--zipf", type=float, default=1.0, help="exponent of the regions' Zipf weights (default 1)")
    parser.add_argument("--seed", type=int, default=1, help="data seed (with the month)")
    parser.add_argument(
        "--sender",
        default=LOCAL_NATIONAL_OPERATOR,
        help=f"the national operator's code sending the close (default {LOCAL_NATIONAL_OPERATOR}, the local stack's)",
    )
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds to wait for the close")
    parser.add_argument("--direct", action="store_true", help="also time close_month without the broker first")
    parser.add_argument("--explain", action="store_true", help="--direct with EXPLAIN (ANALYZE, BUFFERS) per query")
    return asyncio.run(bench(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
