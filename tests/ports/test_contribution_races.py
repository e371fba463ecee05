"""Once a year prevents, under concurrency (docs/adr/0022): two contributions for the same insured person, kind and
year, judged in two transactions at the same moment (two partitions of ingress.settlement.v1, two consumers), are
never both accepted. Real PostgreSQL, real transactions, the interleavings forced step by step: the second waits on
the partial unique index until the first's transaction ends, then sees what the first left."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Awaitable
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

import pytest

from services.payment.domain import commands
from services.payment.domain.contributions import Standard
from services.payment.domain.settlements import Debited, Portion, State
from services.payment.entrypoints.unit_of_work import postgres_context
from services.payment.service_layer.context import PaymentContext
from services.payment.service_layer.record_debit import record_debit
from services.payment.service_layer.record_refund import record_refund
from services.payment.service_layer.record_refusal import record_refusal
from services.payment.service_layer.request_payment import request_contribution
from services.payment.service_layer.reverse import reverse
from shared.caller import Caller
from shared.clock import BUSINESS_TZ
from shared.contracts import province as p
from shared.contracts.reasons import ReasonCode
from shared.db.pool import Conn, connect
from shared.messaging.messages import Decision
from tests.support.infra import Infra
from tests.support.ports import migrated_database

pytestmark = pytest.mark.integration

NOON = datetime(2026, 10, 14, 12, 0, tzinfo=BUSINESS_TZ)
SHENZHEN = "440300"
BLOCKED = 0.5  # seconds a waiting statement is given to show it waits
T = TypeVar("T")
_ids = itertools.count(1)


class Clock:
    def now(self) -> datetime:
        return NOON


@pytest.fixture(scope="module")
async def dsn(infra: Infra) -> str:
    dsn = await migrated_database(infra, "payment")
    conn = await connect(dsn)
    try:
        await postgres_context(conn, Caller(Clock())).standards.set(
            Standard("000000", "390", 2027, Decimal("400.00"), "test")
        )
    finally:
        await conn.close()
    return dsn


class Tx:
    """One consumer's transaction: started, then committed or rolled back by the test."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn
        self.tx = conn.transaction()

    def ctx(self, msgid: str = "") -> PaymentContext:
        return postgres_context(self.conn, Caller(Clock(), SHENZHEN, msgid))


@pytest.fixture
async def two(dsn: str) -> AsyncIterator[tuple[Tx, Tx]]:
    a, b = Tx(await connect(dsn)), Tx(await connect(dsn))
    try:
        yield a, b
    finally:
        for t in (a, b):
            await t.conn.close()


async def insured(dsn: str) -> str:
    """A new person insured in Shenzhen (committed), so that every test has its own (person, kind, year)."""
    psn_no = f"R44030000000{next(_ids):07d}"
    conn = await connect(dsn)
    try:
        await postgres_context(conn, Caller(Clock())).people.record(psn_no, SHENZHEN, 1)
    finally:
        await conn.close()
    return psn_no


async def contribute(t: Tx, psn_no: str, amount: str = "380.00") -> tuple[str, Decision]:
    n = next(_ids)
    setl_id, msgid = f"race-{n}", f"{SHENZHEN}R{n}"
    ask = p.ContributionRequested(payer_psn_no=psn_no, insured_psn_no=psn_no, insutype="390", amount=Decimal(amount),
                                  year=2027)  # fmt: skip
    return setl_id, await request_contribution(commands.RequestContribution(setl_id, ask), t.ctx(msgid))


async def waits(step: Awaitable[T]) -> asyncio.Task[T]:
    """Start `step` and show that it waits (for the other transaction)."""
    task: asyncio.Task[T] = asyncio.ensure_future(step)
    done, _ = await asyncio.wait({task}, timeout=BLOCKED)
    assert not done, "the second should wait for the first transaction to end"
    return task


def debited(amount: str = "380.00") -> Debited:
    portion = Portion(1, "wallet", "P1", "lot-1", SHENZHEN, SHENZHEN, Decimal(amount))
    return Debited(Decimal("0.00"), Decimal("0.00"), Decimal(amount), Decimal("0.00"), Decimal("0.00"), (portion,))


async def state_of(dsn: str, psn_no: str) -> list[tuple[str, str]]:
    conn = await connect(dsn)
    try:
        rows: list[Any] = await conn.fetch(
            "SELECT setl_id, state FROM settlements WHERE psn_no = $1 ORDER BY requested_at, setl_id", psn_no
        )
    finally:
        await conn.close()
    return [(r["setl_id"], r["state"]) for r in rows]


async def both_open(dsn: str, two: tuple[Tx, Tx]) -> tuple[Tx, Tx, str]:
    """Two transactions open at the same moment, and the insured person they will both pay for."""
    a, b = two
    psn_no = await insured(dsn)
    await a.tx.start()
    await b.tx.start()
    return a, b, psn_no


async def test_two_at_the_same_moment_the_second_waits_and_is_refused_when_the_first_commits(
    dsn: str, two: tuple[Tx, Tx]
) -> None:
    a, b, psn_no = await both_open(dsn, two)
    first, ok = await contribute(a, psn_no)
    assert ok.status == "deferred"
    second = await waits(contribute(b, psn_no, "10.00"))
    await a.tx.commit()
    _, refused = await second
    assert (refused.status, refused.reason_code) == ("rejected", ReasonCode.CONTRIBUTION_ALREADY_PAID)
    assert first in (refused.reason or "")
    await b.tx.commit()
    assert await state_of(dsn, psn_no) == [(first, "debiting")]


async def test_two_at_the_same_moment_the_second_goes_on_when_the_first_rolls_back(
    dsn: str, two: tuple[Tx, Tx]
) -> None:
    """The first's batch failed (its transaction rolled back, to be retried): it held nothing."""
    a, b, psn_no = await both_open(dsn, two)
    await contribute(a, psn_no)
    second = await waits(contribute(b, psn_no, "10.00"))
    await a.tx.rollback()
    setl_id, ok = await second
    assert ok.status == "deferred"
    await b.tx.commit()
    assert await state_of(dsn, psn_no) == [(setl_id, "debiting")]


async def test_a_refusal_by_the_wallet_and_a_new_contribution_at_the_same_moment(dsn: str, two: tuple[Tx, Tx]) -> None:
    """The wallet's refusal frees the year: a new contribution judged while the refusal's transaction is open waits
    for it and is accepted once it commits, and only one of two new ones is."""
    a, b = two
    psn_no = await insured(dsn)
    first, _ = await contribute(a, psn_no)  # committed (autocommit)
    await a.tx.start()
    await b.tx.start()
    await record_refusal(commands.RecordRefusal(first, "INSUFFICIENT_BALANCE", "not enough"), a.ctx())
    second = await waits(contribute(b, psn_no, "300.00"))
    await a.tx.commit()
    setl_id, ok = await second
    assert ok.status == "deferred"
    await b.tx.commit()
    _, again = await contribute(Tx(a.conn), psn_no, "300.00")
    assert (again.status, again.reason_code) == ("rejected", ReasonCode.CONTRIBUTION_ALREADY_PAID), "for one"
    assert await state_of(dsn, psn_no) == [(first, "refused"), (setl_id, "debiting")]


async def test_after_a_reversal_two_new_contributions_at_the_same_moment_only_one_is_accepted(
    dsn: str, two: tuple[Tx, Tx]
) -> None:
    a, b = two
    psn_no = await insured(dsn)
    first, _ = await contribute(a, psn_no)
    await record_debit(commands.RecordDebit(first, debited()), a.ctx())
    back = commands.Reverse(p.ReversalRequested(omsgid=(await state_msgid(dsn, first)), otype="contribution.requested"))
    assert (await reverse(back, a.ctx(f"{SHENZHEN}V{next(_ids)}"))).status == "deferred"
    _, cancelling = await contribute(a, psn_no)
    assert cancelling.reason_code == ReasonCode.CONTRIBUTION_ALREADY_PAID, "the money is not back yet"
    await record_refund(commands.RecordRefund(first), a.ctx())
    await a.tx.start()
    await b.tx.start()
    results = await asyncio.gather(contribute(a, psn_no), contribute_after(b, psn_no, a))
    decisions = sorted((d.status, d.reason_code) for _, d in results)
    assert decisions == [("deferred", None), ("rejected", ReasonCode.CONTRIBUTION_ALREADY_PAID)]
    await b.tx.commit()
    states = dict(await state_of(dsn, psn_no))
    assert states[first] == State.CANCELLED.value
    assert sorted(states.values()) == ["cancelled", "debiting"]


async def contribute_after(t: Tx, psn_no: str, other: Tx) -> tuple[str, Decision]:
    """`t` judges its contribution while `other`'s is uncommitted; `other` commits while `t` waits."""
    await asyncio.sleep(0.1)
    task = await waits(contribute(t, psn_no))
    await other.tx.commit()
    return await task


async def state_msgid(dsn: str, setl_id: str) -> str:
    conn = await connect(dsn)
    try:
        msgid: str = await conn.fetchval("SELECT msgid FROM settlements WHERE setl_id = $1", setl_id)
    finally:
        await conn.close()
    return msgid


async def test_many_at_once_on_their_own_connections_exactly_one_is_accepted(dsn: str) -> None:
    """Eight consumers, each its own transaction, the same (person, kind, year), committed in a random order."""
    psn_no = await insured(dsn)
    conns = [await connect(dsn) for _ in range(8)]
    try:
        txs = [Tx(c) for c in conns]
        for t in txs:
            await t.tx.start()

        async def one(t: Tx) -> Decision:
            _, decision = await contribute(t, psn_no, "100.00")
            await t.tx.commit()
            return decision

        decisions = await asyncio.gather(*(one(t) for t in txs))
    finally:
        for c in conns:
            await c.close()
    assert sorted(d.status for d in decisions) == ["deferred"] + ["rejected"] * 7
    assert {d.reason_code for d in decisions if d.status == "rejected"} == {ReasonCode.CONTRIBUTION_ALREADY_PAID}
    assert [s for _, s in await state_of(dsn, psn_no)] == ["debiting"]
