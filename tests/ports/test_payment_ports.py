"""One abstract test per port of the payment service's layer (services/payment/service_layer/ports.py), run on
the in-memory adapters and on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

import pytest

from services.payment.adapters.memory import MemoryPayment
from services.payment.domain.contributions import Standard
from services.payment.domain.institutions import Institution
from services.payment.domain.registry import Region
from services.payment.domain.settlements import Debited, Portion, Purpose, Reversal, Settlement, State, UndoKind
from services.payment.entrypoints.unit_of_work import postgres_context
from services.payment.service_layer.context import PaymentContext
from shared.caller import Caller
from shared.clock import BUSINESS_TZ
from shared.contracts.reasons import ReasonCode
from shared.db.pool import Conn
from shared.messaging.messages import Decision
from tests.support.infra import Infra
from tests.support.ports import migrated_database, rolled_back

NOON = datetime(2030, 3, 14, 12, 0, tzinfo=BUSINESS_TZ)
HOSPITAL = Institution("H61010300012", "Xi'an No. 1", "1", "610100", wallet_enabled=True)


class Clock:
    def now(self) -> datetime:
        return NOON


def a_settlement(setl_id: str = "s-1", msgid: str = "H-1") -> Settlement:
    return Settlement(
        setl_id=setl_id, purpose=Purpose.SETTLEMENT, sender="610100", msgid=msgid, psn_no="R1", payer_psn_no=None,
        institution_admdvs="610100", psn_part_amt=Decimal("80.00"), acct_used_flag="1", use_wallet=True,
        setl_time=NOON, requested_at=NOON, mdtrt_id="m1", fixmedins_code=HOSPITAL.fixmedins_code, med_type="11",
        medfee_sumamt=Decimal("100.00"), fund_pay_sumamt=Decimal("20.00"),
    )  # fmt: skip


def a_contribution(setl_id: str, msgid: str, psn_no: str = "R1", insutype: str = "390", year: int = 2031) -> Settlement:
    return Settlement(
        setl_id=setl_id, purpose=Purpose.CONTRIBUTION, sender="610100", msgid=msgid, psn_no=psn_no,
        payer_psn_no="P1", institution_admdvs=None, psn_part_amt=Decimal("380.00"), acct_used_flag="0",
        use_wallet=False, setl_time=NOON, requested_at=NOON, insutype=insutype, year=year,
    )  # fmt: skip


CONTRIBUTED = Debited(
    Decimal("380.00"), Decimal("380.00"), Decimal("0.00"), Decimal("20.00"), Decimal("0.00"),
    (Portion(1, "provider_account", "P1", None, "610100", "610100", Decimal("380.00")),),
)  # fmt: skip
DEBITED = Debited(
    Decimal("50.00"), Decimal("0.00"), Decimal("30.00"), Decimal("10.00"), Decimal("5.00"),
    (Portion(2, "own_account", "R1", None, "610100", "610100", Decimal("50.00")),
     Portion(1, "wallet", "P1", "lot-1", "440300", "610100", Decimal("30.00"))),
)  # fmt: skip


class PaymentPortsContract:
    @pytest.fixture
    async def ctx(self) -> PaymentContext:
        raise NotImplementedError

    async def defer(self, ctx: PaymentContext, sender: str, msgid: str, type_: str, key: str) -> None:
        """What the consumer does with a request whose handler deferred it (outside the ports)."""
        raise NotImplementedError

    async def test_a_settlement_reads_back_as_it_was_added_and_saved(self, ctx: PaymentContext) -> None:
        s = a_settlement()
        await ctx.settlements.add(s)
        assert await ctx.settlements.get_for_update("s-1") == s
        assert await ctx.settlements.by_msgid_for_update("610100", "H-1") == s
        assert await ctx.settlements.get_for_update("s-none") is None
        assert await ctx.settlements.by_msgid_for_update("610100", "H-none") is None
        mine = await ctx.settlements.get_for_update("s-1")
        assert mine is not None
        mine.complete(DEBITED, NOON)
        mine.mark_reversal("610100", "V-1", NOON)
        assert (await ctx.settlements.get_for_update("s-1")).state is State.DEBITING  # type: ignore[union-attr]
        await ctx.settlements.save(mine)
        assert mine.new_portions == []
        stored = await ctx.settlements.get_for_update("s-1")
        assert stored == mine
        assert stored is not None
        assert (stored.state, stored.undo_kind, stored.psn_cash_pay) == (
            State.CANCELLING,
            UndoKind.REVERSAL,
            Decimal("0.00"),
        )
        assert [x.seq for x in await ctx.settlements.portions_of("s-1")] == [1, 2]
        assert await ctx.settlements.portions_of("s-none") == []

    async def test_one_settlement_per_sender_and_msgid(self, ctx: PaymentContext) -> None:
        await ctx.settlements.add(a_settlement())
        with pytest.raises(Exception):  # noqa: B017, PT011 - a unique violation, whatever the adapter calls it
            await ctx.settlements.add(a_settlement("s-2", "H-1"))

    async def test_a_reversal_is_kept_by_its_original(self, ctx: PaymentContext) -> None:
        await ctx.reversals.serialize_on("610100", "H-1")
        assert await ctx.reversals.of("610100", "H-1") is None
        undone = Reversal("settlement.requested", "V-1", "original_undone", None)
        await ctx.reversals.record("610100", "H-1", undone, NOON)
        assert await ctx.reversals.of("610100", "H-1") == undone
        await ctx.reversals.set_outcome("610100", "H-1", "nothing_applied")
        found = await ctx.reversals.of("610100", "H-1")
        assert found is not None
        assert found.outcome == "nothing_applied"
        with pytest.raises(Exception):  # noqa: B017, PT011
            await ctx.reversals.record(
                "610100", "H-1", Reversal("settlement.requested", "V-2", "nothing_applied", None), NOON
            )

    async def test_institutions(self, ctx: PaymentContext) -> None:
        assert await ctx.institutions.get(HOSPITAL.fixmedins_code) is None
        assert await ctx.institutions.upsert(HOSPITAL)
        assert not await ctx.institutions.upsert(HOSPITAL)
        assert await ctx.institutions.get(HOSPITAL.fixmedins_code) == HOSPITAL
        assert await ctx.institutions.upsert(replace(HOSPITAL, wallet_enabled=False))
        assert await ctx.institutions.admdvs_of(HOSPITAL.fixmedins_code) == "610100"
        assert await ctx.institutions.admdvs_of("H0") is None

    async def test_the_registry_lists_regions_by_code(self, ctx: PaymentContext) -> None:
        for admdvs in ("610300", "610100", "440300", "610103"):
            await ctx.registry.record_region(admdvs, admdvs != "610300")
        await ctx.registry.record_region("610300", True)  # the newest switch
        assert await ctx.registry.regions("610000", "", 10) == [
            Region("610100", True), Region("610103", True), Region("610300", True),
        ]  # fmt: skip
        assert await ctx.registry.regions("610000", "610100", 1) == [Region("610103", True)]
        assert await ctx.registry.regions("610103", "", 10) == [Region("610103", True)]
        assert await ctx.registry.regions("620000", "", 10) == []

    async def test_the_registry_lists_institutions_by_region_and_code(self, ctx: PaymentContext) -> None:
        pharmacy = replace(HOSPITAL, fixmedins_code="P61010300001", fixmedins_type="2", wallet_enabled=False)
        district = replace(HOSPITAL, fixmedins_code="H61010300002", admdvs="610103")
        elsewhere = replace(HOSPITAL, fixmedins_code="H44030000001", admdvs="440300")
        for i in (pharmacy, district, HOSPITAL, elsewhere):
            await ctx.institutions.upsert(i)
        assert await ctx.registry.institutions("610000", None, ("", ""), 10) == [HOSPITAL, pharmacy, district]
        assert await ctx.registry.institutions("610100", None, ("", ""), 10) == [HOSPITAL, pharmacy]
        assert await ctx.registry.institutions("610000", "1", ("", ""), 10) == [HOSPITAL, district]
        assert await ctx.registry.institutions("610000", None, ("610100", HOSPITAL.fixmedins_code), 10) == [
            pharmacy, district,
        ]  # fmt: skip
        assert await ctx.registry.institutions("610000", None, ("610100", "Z"), 1) == [district]
        assert await ctx.registry.institutions("620000", None, ("", ""), 10) == []

    async def test_a_deferred_request_is_answered_once(self, ctx: PaymentContext) -> None:
        assert not await ctx.answers.was_answered("610100", "H-1")
        assert await ctx.answers.answer("610100", "H-1", Decision.completed(setl_id="s-1")) == []
        await self.defer(ctx, "610100", "H-1", "settlement.requested", "R1")
        assert await ctx.answers.was_answered("610100", "H-1")
        refused = Decision.rejected(ReasonCode.WALLET_FROZEN, "frozen")
        [answer] = await ctx.answers.answer("610100", "H-1", refused)
        assert (answer.topic, answer.key, answer.type, answer.correlation_id) == (
            "province.610000.notifications.v1", "R1", "request.result", "H-1",
        )  # fmt: skip
        assert (answer.body["omsgid"], answer.body["otype"], answer.body["status"]) == (
            "H-1", "settlement.requested", "rejected",
        )  # fmt: skip
        assert answer.body["reason_code"] == "WALLET_FROZEN"
        assert await ctx.answers.answer("610100", "H-1", Decision.completed()) == []
        assert await ctx.answers.was_answered("610100", "H-1")
        with pytest.raises(ValueError, match="deferred again"):
            await ctx.answers.answer("610100", "H-1", Decision.deferred())

    async def test_a_contribution_holds_its_person_kind_and_year_while_it_is_live(self, ctx: PaymentContext) -> None:
        first = a_contribution("c-1", "C-1")
        assert await ctx.settlements.add_contribution(first) is None
        assert await ctx.settlements.add_contribution(a_contribution("c-2", "C-2")) == "c-1", "debiting holds it"
        assert await ctx.settlements.add_contribution(a_contribution("c-3", "C-3", year=2032)) is None
        assert await ctx.settlements.add_contribution(a_contribution("c-4", "C-4", insutype="410")) is None
        assert await ctx.settlements.add_contribution(a_contribution("c-5", "C-5", psn_no="R2")) is None
        assert await ctx.settlements.by_msgid_for_update("610100", "C-2") is None, "nothing added"
        mine = await ctx.settlements.get_for_update("c-1")
        assert mine is not None
        mine.complete(CONTRIBUTED, NOON)
        await ctx.settlements.save(mine)
        assert await ctx.settlements.add_contribution(a_contribution("c-6", "C-6")) == "c-1", "completed holds it"
        mine.mark_reversal("610100", "V-1", NOON)
        await ctx.settlements.save(mine)
        assert await ctx.settlements.add_contribution(a_contribution("c-7", "C-7")) == "c-1", "cancelling holds it"
        mine.cancel([], NOON)
        await ctx.settlements.save(mine)
        assert await ctx.settlements.add_contribution(a_contribution("c-8", "C-8")) is None, "cancelled: free"
        assert await ctx.settlements.add_contribution(a_contribution("c-9", "C-9")) == "c-8", "for one"
        refused = await ctx.settlements.get_for_update("c-8")
        assert refused is not None
        refused.refuse(ReasonCode.INSUFFICIENT_BALANCE)
        await ctx.settlements.save(refused)
        assert await ctx.settlements.add_contribution(a_contribution("c-10", "C-10")) is None, "refused: free"
        again = await ctx.settlements.get_for_update("c-10")
        assert again is not None
        assert (again.state, again.psn_part_amt, again.insutype, again.year) == (
            State.DEBITING, Decimal("380.00"), "390", 2031,
        )  # fmt: skip
        with pytest.raises(Exception):  # noqa: B017,PT011 (UniqueViolationError, or asyncpg's)
            await ctx.settlements.add_contribution(a_contribution("c-11", "C-10", year=2040))  # its msgid again

    async def test_a_persons_insured_region_keeps_the_newest_version(self, ctx: PaymentContext) -> None:
        assert await ctx.people.region_of("R1") is None
        assert await ctx.people.record("R1", "610100", 2)
        assert not await ctx.people.record("R1", "440300", 1), "older"
        assert not await ctx.people.record("R1", "440300", 2), "the same version"
        assert await ctx.people.region_of("R1") == "610100"
        assert await ctx.people.record("R1", "440300", 3)
        assert await ctx.people.region_of("R1") == "440300"

    async def test_standards_by_region_the_latest_up_to_the_year(self, ctx: PaymentContext) -> None:
        def row(admdvs: str, year: int, amount: str, insutype: str = "390") -> Standard:
            return Standard(admdvs, insutype, year, Decimal(amount), f"notice {year}")

        for r in (row("990100", 2090, "500.00"), row("990100", 2093, "520.00"), row("990000", 2091, "480.00"),
                  row("990100", 2095, "60.00", "410")):  # fmt: skip
            await ctx.standards.set(r)
        found = await ctx.standards.for_region(("990100", "990000"), "390", 2094)
        assert sorted(found, key=lambda s: s.admdvs) == [row("990000", 2091, "480.00"), row("990100", 2093, "520.00")]
        assert await ctx.standards.for_region(("990100", "990000"), "390", 2089) == []
        assert await ctx.standards.for_region(("990100",), "390", 2092) == [row("990100", 2090, "500.00")]
        await ctx.standards.set(Standard("990100", "390", 2090, Decimal("510.00"), "corrected"))
        assert await ctx.standards.for_region(("990100",), "390", 2092) == [
            Standard("990100", "390", 2090, Decimal("510.00"), "corrected")
        ]
        listed = await ctx.standards.listing("990100", None)
        assert [(s.insutype, s.year) for s in listed] == [("390", 2090), ("390", 2093), ("410", 2095)]
        assert [s.year for s in await ctx.standards.listing("990100", "410")] == [2095]


class TestInMemory(PaymentPortsContract):
    @pytest.fixture
    async def ctx(self) -> PaymentContext:
        self.db = MemoryPayment()
        return self.db.context(Caller(Clock()))

    async def defer(self, ctx: PaymentContext, sender: str, msgid: str, type_: str, key: str) -> None:
        self.db.defer(sender, msgid, type_, key)


@pytest.fixture(scope="module")
async def payment_dsn(infra: Infra) -> str:
    return await migrated_database(infra, "payment")


@pytest.mark.integration
class TestPostgreSQL(PaymentPortsContract):
    @pytest.fixture
    async def ctx(self, payment_dsn: str) -> AsyncIterator[PaymentContext]:
        async with rolled_back(payment_dsn) as conn:
            self.conn: Conn = conn
            yield postgres_context(conn, Caller(Clock()))

    async def defer(self, ctx: PaymentContext, sender: str, msgid: str, type_: str, key: str) -> None:
        await self.conn.execute(
            """INSERT INTO inbox (sender, msgid, type, status, result, topic, partition, "offset")
               VALUES ($1, $2, $3, 'deferred', $4, 'ingress.settlement.v1', 0, 1)""",
            sender,
            msgid,
            type_,
            {"status": "deferred", "_key": key},
        )
