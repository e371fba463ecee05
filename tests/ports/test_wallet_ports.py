"""One abstract test per port of the wallet's service layer (services/wallet/service_layer/ports.py), run
against the in-memory adapters and against PostgreSQL: the fakes the use-case tests rely on behave as the
real adapters do (the eventsourcing library tests its recorders this way)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal

import pytest

from services.wallet.adapters.memory import MemoryWallet
from services.wallet.domain.ledger import (
    AccountKind,
    Entry,
    LedgerTransfer,
    hold,
    personal_account_id,
    post_hold,
    post_transfer,
    wallet_account_id,
)
from services.wallet.domain.payments import Debit, LotLeft, PaymentState, SourceKind, TakenPayment
from services.wallet.domain.statements import FreezeRecord
from services.wallet.domain.transfers import (
    Lot,
    Party,
    QuotaTransfer,
    RelationshipCopy,
    ReturnReason,
    State,
    TransferRequest,
)
from services.wallet.entrypoints.unit_of_work import postgres_context
from services.wallet.service_layer.context import WalletContext
from shared.caller import Caller
from shared.clock import BUSINESS_TZ
from shared.messaging.consumer import BeforeCommit
from tests.support.clock import FixedClock
from tests.support.infra import Infra
from tests.support.ports import migrated_database, rolled_back

NOON = datetime(2030, 3, 14, 12, 0, tzinfo=BUSINESS_TZ)
P = Party("P440300000000000001", "c-P", "n-P", "440300", True, False)
R = Party("R610100000000000001", "c-R", "n-R", "610100", False, True)


async def funded(ctx: WalletContext, amount: str = "500.00") -> None:
    """The provider's personal account with `amount`, and the recipient's wallet account."""
    fund, personal = "fund:440300", personal_account_id(P.psn_no)
    accounts = await ctx.ledger.ensure_and_lock(
        (fund, AccountKind.FUND, "440300"), (personal, AccountKind.PERSONAL, "440300")
    )
    post_transfer(accounts[fund], accounts[personal], Decimal(amount))
    await ctx.ledger.save_posted_transfer(
        LedgerTransfer(
            _uuid(1), "c1", accounts[fund], accounts[personal], Decimal(amount), "credit.contribution", Entry(at=NOON)
        ),
    )
    await ctx.ledger.ensure_account(wallet_account_id(R.psn_no), AccountKind.WALLET, "610100")


def _uuid(n: int) -> uuid.UUID:
    return uuid.UUID(int=n)


async def held(ctx: WalletContext, transfer_id: str, amount: str = "100.00", at: datetime = NOON) -> QuotaTransfer:
    """A transfer as request_transfer makes one: the hold in the ledger, then the saga."""
    req = TransferRequest(P.psn_no, R.psn_no, R.certno_hash, R.name_hash, Decimal(amount), True)
    transfer, _ = QuotaTransfer.request(transfer_id, req, P, R, "rel-1", at)
    personal, wallet = personal_account_id(P.psn_no), wallet_account_id(R.psn_no)
    accounts = await ctx.ledger.lock(personal, wallet)
    hold(accounts[personal], accounts[wallet], transfer.amount)
    await ctx.ledger.save_pending_transfer(
        LedgerTransfer(
            transfer.hold_id,
            f"c-{transfer_id}",
            accounts[personal],
            accounts[wallet],
            transfer.amount,
            "transfer.hold",
            Entry(at=at, transfer_id=transfer_id),
        ),
    )
    transfer.new_steps.append(("requested", None))
    await ctx.transfers.add(transfer)
    return transfer


class WalletPortsContract:
    """What every implementation of the wallet's ports must do. Subclasses give `ctx`: one unit of work."""

    @pytest.fixture
    async def ctx(self) -> WalletContext:
        raise NotImplementedError

    # -- QuotaTransfers -------------------------------------------------------------------------------------------

    async def test_a_transfer_reads_back_as_it_was_added(self, ctx: WalletContext) -> None:
        await funded(ctx)
        added = await held(ctx, "t-1")
        assert added.new_steps == []  # written with it
        found = await ctx.transfers.get_for_update("t-1")
        assert found == replace(added, new_steps=[])
        assert found is not None
        assert found.state is State.PENDING
        assert found.amount == Decimal("100.00")
        assert await ctx.transfers.parties("t-1") == (P.psn_no, R.psn_no)
        assert await ctx.transfers.get_for_update("t-none") is None
        assert await ctx.transfers.parties("t-none") is None

    async def test_a_transfer_is_resolved_once(self, ctx: WalletContext) -> None:
        await funded(ctx)
        transfer = await held(ctx, "t-1")
        mine = await ctx.transfers.get_for_update("t-1")
        assert mine is not None
        mine.accept(NOON, mine.from_admdvs)
        assert (await ctx.transfers.get_for_update("t-1")).state is State.PENDING  # type: ignore[union-attr]
        await ctx.transfers.save(mine)
        stored = await ctx.transfers.get_for_update("t-1")
        assert stored is not None
        assert (stored.state, stored.resolved_at, stored.return_reason) == (State.COMPLETED, NOON, None)
        again = replace(transfer, new_steps=[])
        again.give_back(ReturnReason.DECLINED, NOON)
        with pytest.raises(RuntimeError, match="was not pending"):
            await ctx.transfers.save(again)

    async def test_the_waiting_transfers_by_deadline_relationship_and_person(self, ctx: WalletContext) -> None:
        await funded(ctx)
        early = await held(ctx, "t-early", "10.00", NOON - timedelta(days=2))
        returned = await ctx.transfers.get_for_update(early.transfer_id)
        assert returned is not None
        returned.give_back(ReturnReason.EXPIRED, NOON)
        await ctx.transfers.save(returned)
        late = await held(ctx, "t-late", "20.00", NOON - timedelta(days=1))
        after = NOON + timedelta(days=1)
        assert [t.transfer_id for t in await ctx.transfers.pending_past(after, 10)] == ["t-late"]
        assert await ctx.transfers.pending_past(late.deadline - timedelta(seconds=1), 10) == []
        overdue = await ctx.transfers.overdue_between(P.psn_no, R.psn_no, after)
        assert overdue is not None
        assert overdue.transfer_id == "t-late"
        assert await ctx.transfers.overdue_between(R.psn_no, P.psn_no, after) is None
        assert [t.transfer_id for t in await ctx.transfers.pending_of_relationship("rel-1")] == ["t-late"]
        assert [t.transfer_id for t in await ctx.transfers.pending_of(R.psn_no)] == ["t-late"]
        assert await ctx.transfers.pending_of("someone-else") == []

    async def test_one_waiting_transfer_per_sender_and_recipient(self, ctx: WalletContext) -> None:
        await funded(ctx)
        await held(ctx, "t-1")
        with pytest.raises(Exception):  # noqa: B017, PT011 - a unique violation, whatever the adapter calls it
            await held(ctx, "t-2")

    # -- Ledger --------------------------------------------------------------------------------------------------

    async def test_the_ledger_stores_only_what_is_saved(self, ctx: WalletContext) -> None:
        await funded(ctx, "300.00")
        personal, wallet = personal_account_id(P.psn_no), wallet_account_id(R.psn_no)
        accounts = await ctx.ledger.lock(personal, wallet, "personal:nobody")
        assert set(accounts) == {personal, wallet}
        accounts[personal].debits_posted += Decimal("1.00")  # changed but not saved
        assert (await ctx.ledger.lock(personal))[personal].balance == Decimal("300.00")
        transfer = await held(ctx, "t-1", "120.00")
        accounts = await ctx.ledger.lock(personal, wallet)
        assert (accounts[personal].balance, accounts[wallet].balance) == (Decimal("180.00"), Decimal("0.00"))
        post_hold(accounts[personal], accounts[wallet], transfer.amount)
        entry = Entry(at=NOON, transfer_id="t-1")
        await ctx.ledger.resolve_pending(transfer.hold_id, "posted", accounts[personal], accounts[wallet], entry)
        again = await ctx.ledger.lock(personal, wallet)
        assert (again[personal].balance, again[wallet].balance) == (Decimal("180.00"), Decimal("120.00"))
        assert again[wallet].credits_posted == Decimal("120.00")
        assert again[personal].debits_pending == 0

    async def test_a_hot_accounts_changes_reach_its_balance(self, ctx: WalletContext) -> None:
        await funded(ctx, "300.00")
        personal, spent = personal_account_id(P.psn_no), "spent:440300"
        hot = await ctx.ledger.hot_accounts((spent, AccountKind.SPENDING, "440300"))
        assert hot[spent].increments_only
        assert hot[spent].credits_posted == 0
        accounts = await ctx.ledger.lock(personal)
        post_transfer(accounts[personal], hot[spent], Decimal("30.00"))
        entry = Entry(at=NOON, setl_id="s-1")
        await ctx.ledger.save_posted_transfer(
            LedgerTransfer(
                _uuid(7), "pay-1", accounts[personal], hot[spent], Decimal("30.00"), "pay.own_account", entry
            ),
        )
        again = await ctx.ledger.lock(personal, spent)
        assert not again[spent].increments_only
        assert (again[spent].credits_posted, again[personal].balance) == (Decimal("30.00"), Decimal("270.00"))

    async def test_a_ledger_transfer_id_is_used_once(self, ctx: WalletContext) -> None:
        await funded(ctx)
        accounts = await ctx.ledger.lock("fund:440300", personal_account_id(P.psn_no))
        with pytest.raises(Exception):  # noqa: B017, PT011
            await ctx.ledger.save_posted_transfer(
                LedgerTransfer(
                    _uuid(1),
                    "c1",
                    accounts["fund:440300"],
                    accounts[personal_account_id(P.psn_no)],
                    Decimal("1.00"),
                    "credit.contribution",
                    Entry(at=NOON),
                ),
            )

    async def test_a_personal_account_changes_fund_and_nothing_else_does(self, ctx: WalletContext) -> None:
        await funded(ctx, "300.00")
        personal = personal_account_id(P.psn_no)
        await ctx.ledger.change_fund(personal, "610100")
        account = (await ctx.ledger.lock(personal))[personal]
        assert (account.admdvs, account.balance) == ("610100", Decimal("300.00"))
        for other in (wallet_account_id(R.psn_no), "fund:440300", "personal:nobody"):
            with pytest.raises(RuntimeError):
                await ctx.ledger.change_fund(other, "610100")

    # -- Members -------------------------------------------------------------------------------------------------

    async def test_the_newest_copy_of_a_person_wins(self, ctx: WalletContext) -> None:
        m = ctx.members
        assert await m.upsert_person(P, NOON, version=2)
        assert not await m.upsert_person(replace(P, may_provide=False), NOON, version=1)
        assert await m.person(P.psn_no) == P
        assert await m.upsert_person(replace(P, may_provide=False), NOON, version=3)
        assert (await m.people(P.psn_no, R.psn_no)) == {P.psn_no: replace(P, may_provide=False)}
        assert await m.person(R.psn_no) is None

    async def test_an_ended_relationship_stays_ended(self, ctx: WalletContext) -> None:
        m = ctx.members
        rel = RelationshipCopy("11111111-1111-4111-8111-111111111111", P.psn_no, R.psn_no, "440300", "610100")
        assert await m.relationship_established(replace(rel, version=1))
        assert await m.established_relationship(P.psn_no, R.psn_no) == "11111111-1111-4111-8111-111111111111"
        await m.relationship_ended(replace(rel, version=2), NOON)
        assert await m.established_relationship(P.psn_no, R.psn_no) is None
        assert not await m.relationship_established(replace(rel, version=5))
        assert await m.established_relationship(P.psn_no, R.psn_no) is None

    async def test_regions_wallets_and_freezes(self, ctx: WalletContext) -> None:
        m = ctx.members
        assert not await m.region_enabled("610100")
        assert await m.set_region_wallet_status("610100", True)
        assert not await m.set_region_wallet_status("610100", True)
        assert await m.region_enabled("610100")
        assert await m.wallet_region(R.psn_no) is None
        assert await m.open_wallet(R.psn_no, "610100", NOON)
        assert not await m.open_wallet(R.psn_no, "440300", NOON)
        assert await m.wallet_region(R.psn_no) == "610100"
        assert not await m.frozen(R.psn_no)
        assert await m.frozen_by(R.psn_no) is None
        await m.record_freeze(R.psn_no, FreezeRecord(NOON, "frozen", True, "misuse", "610100"), "F1", "province")
        assert await m.frozen(R.psn_no)
        assert await m.frozen_by(R.psn_no) == "province"
        assert await m.any_frozen(P.psn_no, R.psn_no)
        assert not await m.any_frozen(P.psn_no)
        await m.record_freeze(R.psn_no, FreezeRecord(NOON, "unfrozen", True, "ok", "610100"), "F2", None)
        assert not await m.frozen(R.psn_no)

    async def test_what_a_transfer_request_is_judged_on(self, ctx: WalletContext) -> None:
        m = ctx.members
        await m.set_region_wallet_status("440300", True)
        await m.set_region_wallet_status("610100", True)
        await m.open_wallet(R.psn_no, "610100", NOON)
        await m.relationship_established(RelationshipCopy("rel-1", P.psn_no, R.psn_no, "440300", "610100", 1))
        await funded(ctx)
        await held(ctx, "t-1")
        facts = await m.transfer_facts(P.psn_no, R.psn_no, "440300", "20300314")
        assert facts.wallet_region == "610100"
        assert facts.relationship_id == "rel-1"
        assert facts.sender_region_enabled
        assert facts.recipient_region_enabled
        assert facts.pending_to
        assert facts.sent_today == 1
        assert not facts.sender_frozen
        assert not facts.recipient_frozen
        other_day = await m.transfer_facts(P.psn_no, R.psn_no, None, "20300315")
        assert other_day.sent_today == 0
        assert not other_day.sender_region_enabled

    async def test_lots_are_locked_in_order_and_emptied(self, ctx: WalletContext) -> None:
        m = ctx.members
        await m.add_lot(Lot("lot-b", R.psn_no, P.psn_no, Decimal("5.00"), "440300"), "rel-1", NOON)
        await m.add_lot(Lot("lot-a", R.psn_no, P.psn_no, Decimal("7.00"), "440300"), "rel-1", NOON + timedelta(hours=1))
        await m.add_lot(Lot("lot-c", R.psn_no, P.psn_no, Decimal("9.00"), "440300"), "rel-2", NOON)
        lots = await m.lock_lots_of("rel-1")
        assert [(x.lot_id, x.remaining) for x in lots] == [("lot-b", Decimal("5.00")), ("lot-a", Decimal("7.00"))]
        assert {x.funding_admdvs for x in lots} == {"440300"}
        await m.empty_lot("lot-b")
        assert [x.remaining for x in await m.lock_lots_of("rel-1")] == [Decimal("0.00"), Decimal("7.00")]

    async def test_the_policy_is_the_regions_over_the_national_defaults(self, ctx: WalletContext) -> None:
        policy = await ctx.members.policy_for("440300")
        assert policy.transfers_per_day == 3
        assert policy.transfer_max_amount == Decimal("2000.00")

    # -- Payments ------------------------------------------------------------------------------------------------

    async def spent(self, ctx: WalletContext, n: int, amount: str) -> uuid.UUID:
        """A posted ledger transfer out of the provider's account (what a payment's debit row refers to)."""
        personal, spending = personal_account_id(P.psn_no), "spending:610100"
        accounts = await ctx.ledger.ensure_and_lock(
            (personal, AccountKind.PERSONAL, "440300"), (spending, AccountKind.SPENDING, "610100")
        )
        post_transfer(accounts[personal], accounts[spending], Decimal(amount))
        entry = Entry(at=NOON, setl_id="s-1")
        await ctx.ledger.save_posted_transfer(
            LedgerTransfer(
                _uuid(n), f"pay:{n}", accounts[personal], accounts[spending], Decimal(amount), "pay.wallet", entry
            ),
        )
        return _uuid(n)

    async def test_a_payment_is_answered_once(self, ctx: WalletContext) -> None:
        assert await ctx.payments.payment_of("s-1") is None
        await ctx.payments.record_payment("s-1", "settlement", R.psn_no, PaymentState.REFUSED, "WALLET_FROZEN", NOON)
        assert await ctx.payments.payment_of("s-1") == TakenPayment("s-1", R.psn_no, PaymentState.REFUSED)
        with pytest.raises(Exception):  # noqa: B017, PT011 - a unique violation, whatever the adapter calls it
            await ctx.payments.record_payment("s-1", "settlement", R.psn_no, PaymentState.DEBITED, None, NOON)

    async def test_a_debit_spends_its_lot_and_a_refund_gives_it_back(self, ctx: WalletContext) -> None:
        await funded(ctx)
        m, pay = ctx.members, ctx.payments
        await m.add_lot(
            Lot("lot-new", R.psn_no, P.psn_no, Decimal("50.00"), "440300"), "rel-1", NOON + timedelta(hours=1)
        )
        await m.add_lot(Lot("lot-old", R.psn_no, P.psn_no, Decimal("100.00"), "440300"), "rel-1", NOON)
        await m.add_lot(Lot("lot-gone", R.psn_no, P.psn_no, Decimal("9.00"), "440300"), "rel-1", NOON)
        await m.empty_lot("lot-gone")
        await m.add_lot(Lot("lot-other", P.psn_no, R.psn_no, Decimal("9.00"), "610100"), "rel-2", NOON)
        assert await pay.unspent_lots(R.psn_no) == [
            LotLeft("lot-old", P.psn_no, "440300", Decimal("100.00")),
            LotLeft("lot-new", P.psn_no, "440300", Decimal("50.00")),
        ]
        await pay.record_payment("s-1", "settlement", R.psn_no, PaymentState.DEBITED, None, NOON)
        wallet, personal = wallet_account_id(R.psn_no), personal_account_id(P.psn_no)
        from_lot = Debit(1, SourceKind.WALLET, R.psn_no, wallet, "lot-old", "440300", "610100", Decimal("30.00"))
        await pay.record_debit("s-1", from_lot, await self.spent(ctx, 11, "30.00"))
        from_provider = Debit(
            2, SourceKind.PROVIDER_ACCOUNT, P.psn_no, personal, None, "440300", "610100", Decimal("20.00")
        )
        await pay.record_debit("s-1", from_provider, await self.spent(ctx, 12, "20.00"))
        assert [x.remaining for x in await pay.unspent_lots(R.psn_no)] == [Decimal("70.00"), Decimal("50.00")]
        assert await pay.debits_of("s-1") == [
            Debit(1, SourceKind.WALLET, R.psn_no, wallet, "lot-old", "440300", "610100", Decimal("30.00"),
                  "rel-1", R.psn_no, P.psn_no),
            Debit(2, SourceKind.PROVIDER_ACCOUNT, P.psn_no, personal, None, "440300", "610100", Decimal("20.00")),
        ]  # fmt: skip
        assert await pay.debits_of("s-none") == []
        await pay.lock_lots(["lot-old"])
        await pay.record_refund("s-1", 1, "lot-old", Decimal("30.00"), await self.spent(ctx, 13, "1.00"))
        await pay.record_refund("s-1", 2, None, Decimal("20.00"), await self.spent(ctx, 14, "1.00"))
        assert [x.remaining for x in await pay.unspent_lots(R.psn_no)] == [Decimal("100.00"), Decimal("50.00")]
        await pay.mark_refunded("s-1", NOON)
        assert await pay.payment_of("s-1") == TakenPayment("s-1", R.psn_no, PaymentState.REFUNDED)
        await pay.record_refund_returned("lot-old", Decimal("100.00"))
        assert [x.lot_id for x in await pay.unspent_lots(R.psn_no)] == ["lot-new"]

    async def test_only_a_debited_payment_is_marked_refunded(self, ctx: WalletContext) -> None:
        await ctx.payments.record_payment("s-1", "settlement", R.psn_no, PaymentState.REFUSED, "WALLET_FROZEN", NOON)
        await ctx.payments.mark_refunded("s-1", NOON)
        assert await ctx.payments.payment_of("s-1") == TakenPayment("s-1", R.psn_no, PaymentState.REFUSED)

    async def test_a_payment_sees_whether_a_lots_relationship_ended(self, ctx: WalletContext) -> None:
        rel = "22222222-2222-4222-8222-222222222222"
        assert not await ctx.payments.relationship_ended(rel)
        copy = RelationshipCopy(rel, P.psn_no, R.psn_no, "440300", "610100")
        await ctx.members.relationship_established(replace(copy, version=1))
        assert not await ctx.payments.relationship_ended(rel)
        await ctx.members.relationship_ended(replace(copy, version=2), NOON)
        assert await ctx.payments.relationship_ended(rel)

    # -- Statements ----------------------------------------------------------------------------------------------

    async def test_a_statement_reads_balances_and_quota(self, ctx: WalletContext) -> None:
        await funded(ctx)
        await held(ctx, "t-1", "120.00")
        assert await ctx.statements.balances(P.psn_no) == {"personal": Decimal("380.00")}
        assert await ctx.statements.balances(R.psn_no) == {"wallet": Decimal("0.00")}
        assert await ctx.statements.balances("nobody") == {}
        m = ctx.members
        await m.add_lot(Lot("lot-1", R.psn_no, P.psn_no, Decimal("5.00"), "440300"), "rel-1", NOON)
        await m.add_lot(Lot("lot-2", R.psn_no, P.psn_no, Decimal("7.00"), "440300"), "rel-1", NOON)
        await m.add_lot(Lot("lot-3", R.psn_no, "X1", Decimal("1.00"), "110100"), "rel-3", NOON)
        await m.add_lot(Lot("lot-4", R.psn_no, "X2", Decimal("2.00"), "120100"), "rel-4", NOON)
        await m.empty_lot("lot-4")
        assert await ctx.statements.quota(R.psn_no) == [("110100", Decimal("1.00")), ("440300", Decimal("12.00"))]
        assert await ctx.statements.quota(P.psn_no) == []

    async def test_a_statement_reads_movements_in_order_and_pages(self, ctx: WalletContext) -> None:
        await funded(ctx)
        await held(ctx, "t-1", "120.00", NOON + timedelta(minutes=1))
        start, end = NOON - timedelta(hours=1), NOON + timedelta(hours=1)
        moves = await ctx.statements.movements(P.psn_no, start, end, 0, 10)
        assert [(x.kind, x.account, x.amount, x.balance_after, x.transfer_id, x.setl_id) for x in moves] == [
            ("credit", "personal", Decimal("500.00"), Decimal("500.00"), None, None),
            ("transfer_out", "personal", Decimal("-120.00"), Decimal("380.00"), "t-1", None),
        ]
        assert moves[0].id < moves[1].id
        assert await ctx.statements.movements(P.psn_no, start, end, moves[0].id, 10) == moves[1:]
        assert await ctx.statements.movements(P.psn_no, start, end, 0, 1) == moves[:1]
        assert await ctx.statements.movements(P.psn_no, NOON + timedelta(seconds=1), end, 0, 10) == moves[1:]
        assert await ctx.statements.movements(P.psn_no, start, NOON, 0, 10) == []
        assert await ctx.statements.movements(R.psn_no, start, end, 0, 10) == []

    async def test_a_statement_reads_the_last_freezes_of_the_range(self, ctx: WalletContext) -> None:
        m = ctx.members
        actions: tuple[Literal["frozen", "unfrozen"], ...] = ("frozen", "unfrozen", "frozen")
        for n, action in enumerate(actions):
            at = NOON + timedelta(minutes=n)
            by = "province" if action == "frozen" else None
            await m.record_freeze(R.psn_no, FreezeRecord(at, action, True, f"r{n}", "610100"), f"F{n}", by)
        await m.record_freeze(P.psn_no, FreezeRecord(NOON, "frozen", True, "other", "100000"), "F9", "national")
        end = NOON + timedelta(hours=1)
        assert await ctx.statements.freezes(R.psn_no, NOON, end, 2) == [
            FreezeRecord(NOON + timedelta(minutes=1), "unfrozen", True, "r1", "610100"),
            FreezeRecord(NOON + timedelta(minutes=2), "frozen", True, "r2", "610100"),
        ]
        assert [f.reason for f in await ctx.statements.freezes(R.psn_no, NOON, NOON + timedelta(minutes=1), 5)] == [
            "r0"
        ]


class TestInMemory(WalletPortsContract):
    @pytest.fixture
    async def ctx(self) -> WalletContext:
        return MemoryWallet().context(Caller(FixedClock(NOON)))


@pytest.fixture(scope="module")
async def wallet_dsn(infra: Infra) -> str:
    """A database with the wallet's schema, for this module's PostgreSQL tests."""
    return await migrated_database(infra, "wallet")


@pytest.mark.integration
class TestPostgreSQL(WalletPortsContract):
    @pytest.fixture
    async def ctx(self, wallet_dsn: str) -> AsyncIterator[WalletContext]:
        """Each test in a transaction that is rolled back: every test starts from empty tables."""
        async with rolled_back(wallet_dsn) as conn:
            yield postgres_context(conn, Caller(FixedClock(NOON)))


@pytest.mark.integration
class TestPostgreSQLInAConsumersTransaction(WalletPortsContract):
    @pytest.fixture
    async def ctx(self, wallet_dsn: str) -> AsyncIterator[WalletContext]:
        """As a consumer's handler gets it: hot accounts' changes wait for the transaction's end, and a locked read
        adds them first."""
        async with rolled_back(wallet_dsn) as conn:
            yield postgres_context(conn, Caller(FixedClock(NOON)), BeforeCommit())
