"""Money paths of the wallet raced against each other on PostgreSQL, in the interleavings that used to lose money
(issue 28): two transactions of two consumers, the second started while the first is still open, and the first
committed only once the second waits on one of its locks. Whatever the order, no quota of an ended relationship
stays in a wallet."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

import pytest

from services.wallet.adapters.books import check_books
from services.wallet.domain import commands
from services.wallet.domain.ledger import (
    AccountKind,
    Entry,
    LedgerTransfer,
    hold,
    personal_account_id,
    post_transfer,
    wallet_account_id,
)
from services.wallet.domain.payments import PaymentOrder, Purpose
from services.wallet.domain.transfers import Party, QuotaTransfer, RelationshipCopy, TransferRequest
from services.wallet.entrypoints.unit_of_work import postgres_context
from services.wallet.service_layer.answer_transfer import answer_transfer
from services.wallet.service_layer.credit_account import credit_account
from services.wallet.service_layer.end_relationship import end_relationship
from services.wallet.service_layer.record_person import record_person
from services.wallet.service_layer.refund_payment import refund_payment
from services.wallet.service_layer.take_payment import take_payment
from shared.caller import Caller
from shared.clock import BUSINESS_TZ
from shared.db.pool import Conn, connect
from shared.messaging.consumer import BeforeCommit
from shared.messaging.messages import Decision
from tests.support.clock import FixedClock
from tests.support.infra import Infra
from tests.support.ports import migrated_database

pytestmark = pytest.mark.integration

T = TypeVar("T")
NOON = datetime(2030, 3, 14, 12, 0, tzinfo=BUSINESS_TZ)
P = Party("P440300000000000001", "c-P", "n-P", "440300", True, False)
R = Party("R610100000000000001", "c-R", "n-R", "610100", False, True)
REL, TRANSFER = "rel-1", "T-1"


@pytest.fixture
async def wallet_dsn(infra: Infra) -> str:
    """A fresh database with the wallet's schema, for one race (its transactions commit)."""
    return await migrated_database(infra, "wallet")


async def _family_with_a_held_transfer(dsn: str) -> None:
    """P (440300) has 500.00 and a relationship with R, whose wallet waits for P's transfer of 100.00."""
    conn = await connect(dsn)
    try:
        async with conn.transaction():
            ctx = postgres_context(conn, Caller(FixedClock(NOON)))
            for party in (P, R):
                await ctx.members.upsert_person(party, NOON, 1)
            await ctx.members.relationship_established(RelationshipCopy(REL, P.psn_no, R.psn_no, "440300", "610100", 2))
            await ctx.members.open_wallet(R.psn_no, "610100", NOON)
            fund, personal, wallet = "fund:440300", personal_account_id(P.psn_no), wallet_account_id(R.psn_no)
            accounts = await ctx.ledger.ensure_and_lock(
                (fund, AccountKind.FUND, "440300"),
                (personal, AccountKind.PERSONAL, "440300"),
                (wallet, AccountKind.WALLET, "610100"),
            )
            post_transfer(accounts[fund], accounts[personal], Decimal("500.00"))
            await ctx.ledger.save_posted_transfer(
                LedgerTransfer(
                    uuid.uuid4(),
                    "credit-1",
                    accounts[fund],
                    accounts[personal],
                    Decimal("500.00"),
                    "credit.contribution",
                    Entry(at=NOON),
                ),
            )
            req = TransferRequest(P.psn_no, R.psn_no, R.certno_hash, R.name_hash, Decimal("100.00"), True)
            transfer, _ = QuotaTransfer.request(TRANSFER, req, P, R, REL, NOON)
            hold(accounts[personal], accounts[wallet], transfer.amount)
            await ctx.ledger.save_pending_transfer(
                LedgerTransfer(
                    transfer.hold_id,
                    "hold-1",
                    accounts[personal],
                    accounts[wallet],
                    transfer.amount,
                    "transfer.hold",
                    Entry(at=NOON, transfer_id=TRANSFER),
                ),
            )
            transfer.new_steps.append(("requested", None))
            await ctx.transfers.add(transfer)
    finally:
        await conn.close()


async def _accept(conn: Conn, end: BeforeCommit | None) -> Any:
    ctx = postgres_context(conn, Caller(FixedClock(NOON), "610000"), end)
    return await answer_transfer(commands.AnswerTransfer(TRANSFER, R.psn_no, True), ctx)


async def _end(conn: Conn, end: BeforeCommit | None) -> Any:
    cmd = commands.EndRelationship(REL, P.psn_no, R.psn_no, True, "440300", "610100", 3)
    return await end_relationship(cmd, postgres_context(conn, Caller(FixedClock(NOON)), end))


async def _waits_on_a_lock(observer: Conn, pid: int) -> None:
    """Until the backend `pid` waits on a lock (bounded: a backend that never waits fails the test)."""
    for _ in range(600):
        waiting = await observer.fetchval("SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $1", pid)
        if waiting:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"backend {pid} never waited on a lock")


Step = Callable[[Conn, BeforeCommit | None], Awaitable[Any]]


@pytest.fixture(params=["at-commit", "at-once"])
def hot_rows(request: pytest.FixtureRequest) -> bool:
    """True: the hot accounts' changes are added at the transaction's end, as in the consumers' transactions; False:
    at once, as in a tool's or a periodic job's."""
    return bool(request.param == "at-commit")


async def _race(dsn: str, first: Step, second: Step, at_commit: bool) -> Any:
    """`first` runs in an open transaction; `second` starts in another and waits on one of first's locks (or
    finishes without waiting); then first commits, and second finishes and commits. Returns both results."""
    a, b, observer = await connect(dsn), await connect(dsn), await connect(dsn)
    ends = (BeforeCommit(), BeforeCommit()) if at_commit else (None, None)
    try:
        tx = a.transaction()
        await tx.start()
        first_result = await first(a, ends[0])

        async def run_second() -> Any:
            async with b.transaction():
                result = await second(b, ends[1])
                if ends[1] is not None:
                    await ends[1].flush(b)
                return result

        task = asyncio.create_task(run_second())
        waiting = asyncio.create_task(_waits_on_a_lock(observer, b.get_server_pid()))
        await asyncio.wait({task, waiting}, return_when=asyncio.FIRST_COMPLETED)
        waiting.cancel()
        if ends[0] is not None:
            await ends[0].flush(a)
        await tx.commit()
        return first_result, await task
    finally:
        for conn in (a, b, observer):
            await conn.close()


async def _quota_of_the_ended_relationship(dsn: str) -> tuple[Decimal, Decimal, Decimal]:
    """What the relationship's lots still hold, the wallet's balance and the provider's balance."""
    conn = await connect(dsn)
    try:
        lots = await conn.fetchval("SELECT coalesce(sum(remaining), 0) FROM lots WHERE relationship_id = $1", REL)
        balances = {
            r["id"]: r["balance"]
            for r in await conn.fetch(
                "SELECT id, credits_posted - debits_posted - debits_pending AS balance FROM accounts"
            )
        }
        return lots, balances[wallet_account_id(R.psn_no)], balances[personal_account_id(P.psn_no)]
    finally:
        await conn.close()


async def test_an_accept_committing_while_its_relationship_ends_leaves_no_quota(
    wallet_dsn: str, hot_rows: bool
) -> None:
    """The accept holds its locks when the end arrives: the end must see the lot the accept made, and return it."""
    await _family_with_a_held_transfer(wallet_dsn)
    accepted, _ = await _race(wallet_dsn, _accept, _end, hot_rows)
    assert isinstance(accepted, Decision)
    assert accepted.status == "completed"
    assert await _quota_of_the_ended_relationship(wallet_dsn) == (Decimal("0.00"), Decimal("0.00"), Decimal("500.00"))


async def test_an_end_committing_while_the_accept_arrives_refuses_the_accept(wallet_dsn: str, hot_rows: bool) -> None:
    """The end holds its locks when the accept arrives: the transfer went back, and the accept is refused."""
    await _family_with_a_held_transfer(wallet_dsn)
    _, accepted = await _race(wallet_dsn, _end, _accept, hot_rows)
    assert isinstance(accepted, Decision)
    assert accepted.status == "rejected"
    assert await _quota_of_the_ended_relationship(wallet_dsn) == (Decimal("0.00"), Decimal("0.00"), Decimal("500.00"))


# -- a move (the account changes fund, its balance carried) racing what reads or changes that balance -------------

GANSU = "620100"


async def _move(conn: Conn, end: BeforeCommit | None) -> Any:
    cmd = commands.RecordPerson(replace(P, insuplc_admdvs=GANSU), NOON, 2, "relationship-event-move")
    return await record_person(cmd, postgres_context(conn, Caller(FixedClock(NOON)), end))


async def _pay_from_own_account(conn: Conn, end: BeforeCommit | None) -> Any:
    order = PaymentOrder("setl-1", Purpose.SETTLEMENT, P.psn_no, None, "440300", Decimal("80.00"), False, "1")
    ctx = postgres_context(conn, Caller(FixedClock(NOON), "440000"), end)
    return await take_payment(commands.TakePayment(order), ctx)


async def _credit_from_a_sibling_region(conn: Conn, end: BeforeCommit | None) -> Any:
    cmd = commands.CreditAccount("440100:c-9", P.psn_no, "440100", Decimal("70.00"), "203003", "contribution")
    ctx = postgres_context(conn, Caller(FixedClock(NOON), "440100"), end)
    return await credit_account(cmd, ctx, Decimal("100000.00"))


async def _after_the_race(dsn: str) -> tuple[dict[str, list[str]], Any, Any]:
    """The wallet's books, the fund the payment's own-account portion was attributed to (None: no payment), and
    the provider's account's fund."""
    conn = await connect(dsn)
    try:
        problems = await check_books(conn)
        funding = await conn.fetchval("SELECT funding_admdvs FROM payment_debits WHERE setl_id = 'setl-1'")
        fund = await conn.fetchval("SELECT admdvs FROM accounts WHERE id = $1", personal_account_id(P.psn_no))
        return problems, funding, fund
    finally:
        await conn.close()


@pytest.mark.parametrize("move_first", [True, False], ids=["move-then-pay", "pay-then-move"])
async def test_a_payment_racing_a_move_is_funded_by_the_fund_that_holds_the_money(
    wallet_dsn: str, move_first: bool, hot_rows: bool
) -> None:
    """Whichever commits first, the payment's portion is the fund the account belonged to when it paid, and the
    carry moves only what was left: every fund holds exactly what it issued."""
    await _family_with_a_held_transfer(wallet_dsn)
    first, second = (_move, _pay_from_own_account) if move_first else (_pay_from_own_account, _move)
    await _race(wallet_dsn, first, second, hot_rows)
    problems, funding, fund = await _after_the_race(wallet_dsn)
    assert problems["funds_hold_what_they_issued"] == []
    assert all(v == [] for v in problems.values()), problems
    assert (funding, fund) == (GANSU if move_first else "440300", GANSU)


@pytest.mark.parametrize("move_first", [True, False], ids=["move-then-credit", "credit-then-move"])
async def test_a_sibling_regions_credit_racing_a_move_is_carried_once_to_the_right_fund(
    wallet_dsn: str, move_first: bool, hot_rows: bool
) -> None:
    await _family_with_a_held_transfer(wallet_dsn)
    first, second = (_move, _credit_from_a_sibling_region) if move_first else (_credit_from_a_sibling_region, _move)
    await _race(wallet_dsn, first, second, hot_rows)
    problems, _, fund = await _after_the_race(wallet_dsn)
    assert all(v == [] for v in problems.values()), problems
    assert fund == GANSU


# -- hot accounts: a region's fund and its spending, which every credit and payment of the region changes ----------

SHENZHEN_FUND, SHENZHEN_SPENDING = "fund:440300", "spent:440300"


async def _insured(dsn: str, count: int) -> list[Party]:
    """`count` people insured in Shenzhen, and Shenzhen's fund and spending accounts (committed)."""
    people = [
        replace(P, psn_no=f"P4403000000000{n:05d}", certno_hash=f"c-{n}", name_hash=f"n-{n}") for n in range(count)
    ]
    conn = await connect(dsn)
    try:
        async with conn.transaction():
            ctx = postgres_context(conn, Caller(FixedClock(NOON)))
            for person in people:
                await ctx.members.upsert_person(person, NOON, 1)
            # the region's accounts exist, as after its first credit and payment (a transaction that makes one
            # holds its new row until it commits)
            await ctx.ledger.hot_accounts(
                (SHENZHEN_FUND, AccountKind.FUND, "440300"), (SHENZHEN_SPENDING, AccountKind.SPENDING, "440300")
            )
    finally:
        await conn.close()
    return people


async def _credit(conn: Conn, end: BeforeCommit | None, person: Party, amount: str) -> Decision:
    cmd = commands.CreditAccount(
        f"440300:{person.psn_no}", person.psn_no, "440300", Decimal(amount), "203003", "contribution"
    )
    return await credit_account(
        cmd, postgres_context(conn, Caller(FixedClock(NOON), "440300"), end), Decimal("100000.00")
    )


async def _pay(conn: Conn, end: BeforeCommit | None, person: Party, setl_id: str, amount: str) -> Any:
    order = PaymentOrder(setl_id, Purpose.SETTLEMENT, person.psn_no, None, "440300", Decimal(amount), False, "1")
    return await take_payment(
        commands.TakePayment(order), postgres_context(conn, Caller(FixedClock(NOON), "440000"), end)
    )


async def _hot_balances(dsn: str) -> tuple[dict[str, list[str]], dict[str, tuple[Decimal, Decimal]]]:
    """The wallet's books, and (debits posted, credits posted) of Shenzhen's fund and spending accounts."""
    conn = await connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT id, debits_posted, credits_posted FROM accounts WHERE id = ANY($1::text[])",
            [SHENZHEN_FUND, SHENZHEN_SPENDING],
        )
        return await check_books(conn), {r["id"]: (r["debits_posted"], r["credits_posted"]) for r in rows}
    finally:
        await conn.close()


async def _without_waiting(observer: Conn, conn: Conn, step: Awaitable[T]) -> T:
    """`step` on `conn`, which must finish without ever waiting on a lock (it fails at the first wait)."""
    task = asyncio.ensure_future(step)
    waiting = asyncio.create_task(_waits_on_a_lock(observer, conn.get_server_pid()))
    done, _ = await asyncio.wait({task, waiting}, return_when=asyncio.FIRST_COMPLETED)
    waiting.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await waiting  # the observer's connection is free again
    if task not in done:
        task.cancel()
        raise AssertionError("the step waited on another transaction's lock")
    return task.result()


@pytest.mark.parametrize("first_added", [False, True], ids=["first-still-working", "first-added-its-changes"])
async def test_credits_to_one_fund_do_not_wait_for_each_other(wallet_dsn: str, first_added: bool) -> None:
    """A consumer's transaction adds its changes to the fund's row only at its end: a second credit of the same
    region goes through while the first transaction is still open, even once the first has changed the row (the
    second then waits only to add its own changes, until the first commits), and both reach the fund."""
    first_person, second_person = await _insured(wallet_dsn, 2)
    a, b, observer = await connect(wallet_dsn), await connect(wallet_dsn), await connect(wallet_dsn)
    ends = BeforeCommit(), BeforeCommit()
    first, second = a.transaction(), b.transaction()
    try:
        await first.start()
        assert (await _credit(a, ends[0], first_person, "100.00")).status == "completed"
        if first_added:
            await ends[0].flush(a)
        await second.start()
        credited = await _without_waiting(observer, b, _credit(b, ends[1], second_person, "200.00"))
        assert credited.status == "completed"
        if first_added:
            adding = asyncio.create_task(ends[1].flush(b))
            await _waits_on_a_lock(observer, b.get_server_pid())  # on the first's change of the row, until it commits
            await first.commit()
            await adding
            await second.commit()
        else:
            await _without_waiting(observer, b, ends[1].flush(b))
            await second.commit()
            await ends[0].flush(a)
            await first.commit()
    finally:
        for conn in (a, b, observer):
            await conn.close()
    problems, hot = await _hot_balances(wallet_dsn)
    assert all(v == [] for v in problems.values()), problems
    assert hot[SHENZHEN_FUND] == (Decimal("300.00"), Decimal("0.00"))


async def test_many_credits_and_payments_at_once_leave_the_fund_and_spending_exact(wallet_dsn: str) -> None:
    """Each on its own connection and transaction, as partitions' batches are: every increment arrives once."""
    people = await _insured(wallet_dsn, 24)
    all_credited = asyncio.Barrier(len(people))

    async def one(n: int, person: Party) -> None:
        conn = await connect(wallet_dsn)
        end = BeforeCommit()
        try:
            async with conn.transaction():
                await _credit(conn, end, person, f"{100 + n}.00")
                await all_credited.wait()  # every transaction is open, each with a credit of the fund collected
                await _pay(conn, end, person, f"setl-{n}", f"{10 + n}.00")
                await end.flush(conn)
        finally:
            await conn.close()

    await asyncio.gather(*(one(n, person) for n, person in enumerate(people)))
    problems, hot = await _hot_balances(wallet_dsn)
    assert all(v == [] for v in problems.values()), problems
    credited = sum(Decimal(100 + n) for n in range(24))
    paid = sum(Decimal(10 + n) for n in range(24))
    assert hot[SHENZHEN_FUND] == (credited, Decimal("0.00"))
    assert hot[SHENZHEN_SPENDING] == (Decimal("0.00"), paid)


async def test_a_refund_in_the_transaction_that_took_the_payment_sees_it_in_the_spending(wallet_dsn: str) -> None:
    """The refund debits the spending account under its lock: the increments this transaction collected for it
    are added first, so the refund is judged on the payment it returns."""
    (person,) = await _insured(wallet_dsn, 1)
    conn = await connect(wallet_dsn)
    end = BeforeCommit()
    try:
        async with conn.transaction():
            await _credit(conn, end, person, "100.00")
            await _pay(conn, end, person, "setl-r", "80.00")
            ctx = postgres_context(conn, Caller(FixedClock(NOON), "440000"), end)
            assert await refund_payment(commands.RefundPayment("setl-r"), ctx)
            await end.flush(conn)
    finally:
        await conn.close()
    problems, hot = await _hot_balances(wallet_dsn)
    assert all(v == [] for v in problems.values()), problems
    assert hot[SHENZHEN_SPENDING] == (Decimal("80.00"), Decimal("80.00"))


async def test_a_refund_does_not_wait_for_the_payments_other_transactions_have_open(wallet_dsn: str) -> None:
    """Another batch's payment in the region holds a key-share lock on the spending row (its transfer names the
    row) until it commits; a refund reads the row under its own lock without waiting for that batch."""
    payer, refunded = await _insured(wallet_dsn, 2)
    conn = await connect(wallet_dsn)
    try:
        async with conn.transaction():  # the payment to be refunded, committed earlier
            await _credit(conn, None, refunded, "100.00")
            await _pay(conn, None, refunded, "setl-x", "80.00")
    finally:
        await conn.close()
    a, b, observer = await connect(wallet_dsn), await connect(wallet_dsn), await connect(wallet_dsn)
    ends = BeforeCommit(), BeforeCommit()
    try:
        async with a.transaction():
            await _credit(a, ends[0], payer, "100.00")
            await _pay(a, ends[0], payer, "setl-a", "30.00")
            async with b.transaction():
                ctx = postgres_context(b, Caller(FixedClock(NOON), "440000"), ends[1])
                assert await _without_waiting(observer, b, refund_payment(commands.RefundPayment("setl-x"), ctx))
                await ends[1].flush(b)
            await ends[0].flush(a)
    finally:
        for c in (a, b, observer):
            await c.close()
    problems, hot = await _hot_balances(wallet_dsn)
    assert all(v == [] for v in problems.values()), problems
    assert hot[SHENZHEN_SPENDING] == (Decimal("80.00"), Decimal("110.00"))
