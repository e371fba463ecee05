"""Query benchmarks: `python -m tools.bench_queries [--institutions N] [--movements M] [--pages P]`
against a running platform (make up). It measures a `registry.listing` page and a `wallet.statement` page.

1. Load, straight into the services' schemas (kept: a second run tops up and does not load again):
   - N institutions (default 650,000, a national registry) into the payment schema with COPY, spread over
     every region of the 31 provinces;
   - one busy member of 440300 with M credits (default 20,000) in the last 30 business days, written into the
     wallet's ledger and statement together (transfers, movements and the account's sums agree, so the books
     check still holds).
2. Measure, through the real broker, one request after another (after `--warmup` unmeasured first-page ones),
   each timed from publish to the answer arriving on the requester's province topic:
   - P `registry.query-requested`, each the next page (500 institutions) of a province's listing by cursor;
   - P `wallet.statement-requested` for that member's 30 days, each the next page (500 movements) by cursor.
3. Baseline in the same run: the same pages' SQL alone on each schema.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer

from services.payment.adapters.registry_repository import RegistryRepository
from services.wallet.adapters.statement_repository import StatementRepository
from services.wallet.domain.ledger import transfer_id_for
from services.wallet.domain.statements import day_start
from shared.clock import BUSINESS_TZ
from shared.contracts.topics import INGRESS_REGISTRY, INGRESS_WALLET, PROVINCES, province_topic
from shared.messaging.security import SIMULATOR, kafka_client
from shared.settings import PlatformSettings, signing_keys_path
from shared.signing import SigningKeys
from tools.bench import percentile, watch_from_now
from tools.clock import stack_now

SENDER = "440300"
PROVINCE = "440000"
MEMBER = "BENCH44030000000001"


async def load_registry(settings: PlatformSettings, wanted: int) -> int:
    conn = await asyncpg.connect(settings.dsn("payment"))
    try:
        have = int(await conn.fetchval("SELECT count(*) FROM institutions WHERE fixmedins_name LIKE 'bench %'"))
        if have >= wanted:
            return have
        regions = [f"{p[:2]}{r:02d}00" for p in PROVINCES for r in range(1, 21)]
        rows = [
            (
                f"{'H' if n % 4 else 'P'}{regions[n % len(regions)]}{n // len(regions):05d}",
                f"bench {n}",
                "1" if n % 4 else "2",
                regions[n % len(regions)],
                n % 3 != 0,
            )
            for n in range(have, wanted)
        ]
        await conn.copy_records_to_table(
            "institutions",
            records=rows,
            columns=["fixmedins_code", "fixmedins_name", "fixmedins_type", "admdvs", "wallet_enabled"],
        )
        await conn.execute("ANALYZE institutions")
        return wanted
    finally:
        await conn.close()


async def load_member(settings: PlatformSettings, wanted: int) -> int:
    """The busy member's credits, as the wallet books them: a posted fund -> personal transfer each, its movement
    with the balance after it, and the two accounts' sums; in the last 30 days (business time), oldest first."""
    conn = await asyncpg.connect(settings.dsn("wallet"))
    personal, fund = f"personal:{MEMBER}", f"fund:{SENDER}"
    try:
        async with conn.transaction():
            await conn.execute(
                """INSERT INTO people (psn_no, certno_hash, name_hash, insuplc_admdvs, may_provide, may_receive,
                                       effective_at)
                   VALUES ($1, 'bench', 'bench', $2, true, true, now()) ON CONFLICT DO NOTHING""",
                MEMBER,
                SENDER,
            )
            for account, kind in ((personal, "personal"), (fund, "fund")):
                await conn.execute(
                    "INSERT INTO accounts (id, kind, admdvs) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                    account,
                    kind,
                    SENDER,
                )
            await conn.execute("SELECT 1 FROM accounts WHERE id = ANY($1) ORDER BY id FOR UPDATE", [fund, personal])
            have = int(await conn.fetchval("SELECT count(*) FROM movements WHERE psn_no = $1", MEMBER))
            if have >= wanted:
                return have
            balance = Decimal(
                await conn.fetchval(
                    "SELECT credits_posted - debits_posted - debits_pending FROM accounts WHERE id = $1", personal
                )
            )
            start = stack_now() - timedelta(days=30)
            step = timedelta(days=30) / wanted
            transfers, movements, total = [], [], Decimal("0.00")
            for n in range(have, wanted):
                amount = Decimal(n % 5000 + 1) / 100
                client_id = f"bench-statement:{n}"
                tid = transfer_id_for(client_id)
                balance += amount
                total += amount
                transfers.append((tid, client_id, fund, personal, amount, "posted", "credit.bench"))
                movements.append(
                    (MEMBER, "personal", personal, start + step * n, "credit", amount, balance, tid, str(tid), None)
                )
            await conn.copy_records_to_table(
                "transfers",
                records=transfers,
                columns=["id", "client_id", "debit_account", "credit_account", "amount", "state", "code"],
            )
            await conn.copy_records_to_table(
                "movements",
                records=movements,
                columns=[
                    "psn_no",
                    "account",
                    "account_id",
                    "at",
                    "kind",
                    "amount",
                    "balance_after",
                    "ledger_transfer_id",
                    "transfer_id",
                    "setl_id",
                ],
            )
            await conn.execute(
                "UPDATE accounts SET credits_posted = credits_posted + $2 WHERE id = $1", personal, total
            )
            await conn.execute("UPDATE accounts SET debits_posted = debits_posted + $2 WHERE id = $1", fund, total)
        await conn.execute("ANALYZE movements")
        return wanted
    finally:
        await conn.close()


def statement_body(cursor: str | None) -> dict[str, Any]:
    today = stack_now().date()
    return {
        "psn_no": MEMBER,
        "from_date": (today - timedelta(days=30)).isoformat(),
        "to_date": today.isoformat(),
        **({"cursor": cursor} if cursor else {}),
    }


async def registry_baseline(settings: PlatformSettings, cursors: list[str | None]) -> list[float]:
    conn = await asyncpg.connect(settings.dsn("payment"))
    try:
        repo = RegistryRepository(conn)
        times = []
        for cursor in cursors:
            after = ("", "") if cursor is None else tuple(cursor.split(":"))
            started = time.perf_counter()
            await repo.institutions(PROVINCE, None, (after[0], after[1]), 501)
            times.append((time.perf_counter() - started) * 1000)
        return sorted(times)
    finally:
        await conn.close()


async def statement_baseline(settings: PlatformSettings, cursors: list[str | None]) -> list[float]:
    """What the statement's handler reads, in one transaction a page, without the broker or the kernel."""
    conn = await asyncpg.connect(settings.dsn("wallet"))
    try:
        repo = StatementRepository(conn)
        times = []
        for cursor in cursors:
            body = statement_body(cursor)
            start = day_start(datetime.fromisoformat(body["from_date"]).date())
            end = day_start(datetime.fromisoformat(body["to_date"]).date() + timedelta(days=1))
            started = time.perf_counter()
            async with conn.transaction():
                await repo.balances(MEMBER)
                await repo.movements(MEMBER, start, end, int(cursor or 0), 501)
                await repo.quota(MEMBER)
                await repo.freezes(MEMBER, start, end, 100)
            times.append((time.perf_counter() - started) * 1000)
        return sorted(times)
    finally:
        await conn.close()


async def bench(
    settings: PlatformSettings,
    pages: int,
    topic: str,
    type_: str,
    body_for: Callable[[str | None], dict[str, Any]],
    answer: str,
    items: str,
    key: str,
    warmup: int,
) -> tuple[list[float], list[str | None]]:
    """`pages` requests one after another, each for the page after the last answer's cursor."""
    consumer = await watch_from_now(settings, province_topic(SENDER))
    producer = AIOKafkaProducer(**kafka_client(settings, SIMULATOR), enable_idempotence=True, acks="all")
    await producer.start()
    keys = SigningKeys.load(signing_keys_path(settings))
    run = f"{random.randrange(10**6):06d}"
    latencies: list[float] = []
    cursors: list[str | None] = []
    cursor: str | None = None
    try:
        for i in range(-warmup, pages):  # the first `warmup` ask for the first page and are not counted
            if i == 0:
                latencies, cursors, cursor = [], [], None
            msgid = f"{SENDER}{datetime.now(BUSINESS_TZ):%H%M%S}{run}{i + warmup:05d}{uuid.uuid4().int % 100:02d}"[:30]
            value = {
                "msgid": msgid,
                "type": type_,
                "sender": SENDER,
                "sent_at": stack_now().isoformat(timespec="seconds"),
                "body": body_for(cursor),
            }
            raw = json.dumps(value).encode()
            cursors.append(cursor)
            started = time.perf_counter()
            await producer.send_and_wait(topic, raw, key=key.encode(), headers=keys.record_headers(raw))
            got = None
            while got is None:
                for recs in (await consumer.getmany(timeout_ms=100)).values():
                    for r in recs:
                        v = json.loads(r.value)
                        if v.get("type") == answer and v["body"].get("omsgid") == msgid:
                            got = v["body"]
                        elif (
                            v.get("type") == "request.result"
                            and v["body"].get("omsgid") == msgid
                            and v["body"]["status"] != "completed"
                        ):
                            raise SystemExit(f"{type_} {msgid}: {v['body']}")
                if time.perf_counter() - started > 60:
                    raise SystemExit(f"no {answer} for {msgid} after 60 s")
            latencies.append((time.perf_counter() - started) * 1000)
            if len(got[items]) != 500:
                raise SystemExit(f"{answer} page {i}: {len(got[items])} {items}")
            cursor = got.get("next_cursor")
    finally:
        await producer.stop()
        await consumer.stop()
    return sorted(latencies), cursors


def report(name: str, values: list[float]) -> None:
    print(
        f"{name} x{len(values)}: p50 {percentile(values, 0.5):.1f} ms, p95 {percentile(values, 0.95):.1f} ms, "
        f"max {values[-1]:.1f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--institutions", type=int, default=650_000)
    parser.add_argument("--movements", type=int, default=20_000)
    parser.add_argument("--pages", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=3, help="first-page requests before the measured ones")
    args = parser.parse_args()
    settings = PlatformSettings()
    started = time.perf_counter()
    loaded = asyncio.run(load_registry(settings, args.institutions))
    moved = asyncio.run(load_member(settings, args.movements))
    print(
        f"loaded: {loaded} institutions, {moved} movements of one member ({time.perf_counter() - started:.1f} s)",
        file=sys.stderr,
    )
    listing, listing_cursors = asyncio.run(
        bench(
            settings,
            args.pages,
            INGRESS_REGISTRY,
            "registry.query-requested",
            lambda c: {"what": "institutions", "admdvs": PROVINCE, **({"cursor": c} if c else {})},
            "registry.listing",
            "items",
            PROVINCE,
            args.warmup,
        )
    )
    statement, statement_cursors = asyncio.run(
        bench(
            settings,
            min(args.pages, args.movements // 500),
            INGRESS_WALLET,
            "wallet.statement-requested",
            statement_body,
            "wallet.statement",
            "movements",
            MEMBER,
            args.warmup,
        )
    )
    report("registry.listing page of 500 (of a province), publish -> listing", listing)
    report("  the page's SQL alone", asyncio.run(registry_baseline(settings, listing_cursors)))
    report("wallet.statement page of 500 movements (30 days), publish -> statement", statement)
    report("  the page's SQL alone", asyncio.run(statement_baseline(settings, statement_cursors)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
