"""One abstract test per port of the clearing service's layer (services/clearing/service_layer/ports.py), run on
the in-memory adapters and on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from decimal import Decimal

import pytest

from services.clearing.adapters.memory import MemoryClearing
from services.clearing.domain.months import Answer, Line, Month, MonthTotals, Statement
from services.clearing.domain.obligations import Direction, Obligation, Portion
from services.clearing.entrypoints.unit_of_work import postgres_context
from services.clearing.service_layer.context import ClearingContext
from shared.caller import Caller
from shared.clock import BUSINESS_TZ
from tests.support.infra import Infra
from tests.support.ports import migrated_database, rolled_back

NOON = datetime(2030, 4, 14, 12, 0, tzinfo=BUSINESS_TZ)
A, B, C = "150100", "230100", "640100"
MARCH, APRIL = "203003", "203004"


class Clock:
    def now(self) -> datetime:
        return NOON


def item(
    setl_id: str, debtor: str, creditor: str, amount: str, period: str = MARCH,
    direction: Direction = Direction.FORWARD, seq: int = 1,
) -> Obligation:  # fmt: skip
    portion = Portion(seq, "wallet", debtor, creditor, Decimal(amount))
    return Obligation.of(setl_id, portion, direction, period, MARCH, "settlement", NOON)


async def close(ctx: ClearingContext, period: str, by: str = "operator") -> None:
    month = await ctx.months.hold(period)
    month.close(await ctx.months.tally(period), NOON, by)
    await ctx.months.save(month)


async def march_of_three_regions(ctx: ClearingContext) -> None:
    for x in (
        item("s1", A, C, "200.00"),
        item("s2", A, C, "50.00"),
        item("s2", A, C, "50.00", direction=Direction.REVERSE),
        item("s3", C, A, "80.00"),
        item("s4", B, C, "7.00", seq=2),
    ):
        assert await ctx.obligations.add(x)
    await close(ctx, MARCH)


class ClearingPortsContract:
    @pytest.fixture
    async def ctx(self) -> ClearingContext:
        raise NotImplementedError

    async def test_an_obligation_is_recorded_once(self, ctx: ClearingContext) -> None:
        assert await ctx.obligations.forward_period("s1", 1) is None
        assert await ctx.obligations.add(item("s1", A, C, "200.00"))
        assert not await ctx.obligations.add(item("s1", A, C, "200.00", period=APRIL)), "the same item_id"
        assert await ctx.obligations.forward_period("s1", 1) == MARCH
        assert await ctx.obligations.forward_period("s1", 2) is None
        assert await ctx.obligations.add(item("s1", A, C, "200.00", period=APRIL, direction=Direction.REVERSE))
        assert await ctx.obligations.forward_period("s1", 1) == MARCH, "only the forward item counts"

    async def test_a_closed_month_takes_no_more_items(self, ctx: ClearingContext) -> None:
        await ctx.obligations.add(item("s1", A, C, "200.00"))
        await close(ctx, MARCH)
        with pytest.raises(Exception, match="closed"):  # the schema's trigger, or its fake
            await ctx.obligations.add(item("s2", A, C, "1.00"))

    async def test_months_are_open_until_closed(self, ctx: ClearingContext) -> None:
        assert await ctx.months.closed() == set()
        assert not await ctx.months.is_closed(MARCH)
        await ctx.months.share(MARCH)
        assert await ctx.months.get(MARCH) == Month(MARCH)
        assert await ctx.months.tally(MARCH) == MonthTotals(0, Decimal("0.00"), 0, 0)
        await close(ctx, MARCH, "schedule")
        assert await ctx.months.closed() == {MARCH}
        assert await ctx.months.is_closed(MARCH)
        assert await ctx.months.get(MARCH) == Month(MARCH, NOON, "schedule")
        assert await ctx.months.hold(MARCH) == Month(MARCH, NOON, "schedule")
        assert await ctx.months.get(APRIL) == Month(APRIL)
        with pytest.raises(ValueError, match="not closed here"):
            await ctx.months.save(Month(APRIL))

    async def test_a_tally_is_what_closing_freezes(self, ctx: ClearingContext) -> None:
        await march_of_three_regions(ctx)
        await ctx.obligations.add(item("s5", A, C, "1.00", period=APRIL))
        assert await ctx.months.tally(MARCH) == MonthTotals(items=5, gross=Decimal("287.00"), pairs=2, statements=3)
        assert await ctx.months.tally(APRIL) == MonthTotals(items=1, gross=Decimal("1.00"), pairs=1, statements=2)

    async def test_closing_issues_one_statement_per_region_with_its_lines(self, ctx: ClearingContext) -> None:
        await march_of_three_regions(ctx)
        issued = await ctx.statements.issued(MARCH)
        assert issued == [
            Statement(f"CS{MARCH}{A}", MARCH, A, Decimal("200.00"), Decimal("80.00"), Decimal("-120.00"),
                      lines=(Line(C, Decimal("200.00"), Decimal("80.00")),)),
            Statement(f"CS{MARCH}{B}", MARCH, B, Decimal("7.00"), Decimal("0.00"), Decimal("-7.00"),
                      lines=(Line(C, Decimal("7.00"), Decimal("0.00")),)),
            Statement(f"CS{MARCH}{C}", MARCH, C, Decimal("80.00"), Decimal("207.00"), Decimal("127.00"),
                      lines=(Line(A, Decimal("80.00"), Decimal("200.00")), Line(B, Decimal("0.00"), Decimal("7.00")))),
        ]  # fmt: skip
        assert await ctx.statements.issued(APRIL) == []

    async def test_a_statement_keeps_every_answer_and_the_latest_stands(self, ctx: ClearingContext) -> None:
        await march_of_three_regions(ctx)
        sid = f"CS{MARCH}{A}"
        assert await ctx.statements.get_for_update("CS-none") is None
        s = await ctx.statements.get_for_update(sid)
        assert s is not None
        assert (s.answer, s.lines, s.net) == (Answer.ISSUED, (), Decimal("-120.00"))
        s.dispute(A, "a refund missing", A, "a-1", NOON)
        assert (await ctx.statements.get_for_update(sid)).answer is Answer.ISSUED  # type: ignore[union-attr]
        await ctx.statements.save(s)
        assert s.new_answers == []
        assert (await ctx.statements.get_for_update(sid)).answer is Answer.DISPUTED  # type: ignore[union-attr]
        s.confirm(A, A, "a-2", NOON)
        await ctx.statements.save(s)
        [stored] = [x for x in await ctx.statements.issued(MARCH) if x.statement_id == sid]
        assert (stored.answer, stored.owes) == (Answer.CONFIRMED, Decimal("200.00"))
        again = await ctx.statements.get_for_update(sid)
        assert again is not None
        again.confirm(A, A, "a-2", NOON)
        with pytest.raises(Exception):  # noqa: B017, PT011 - one answer per sender and msgid
            await ctx.statements.save(again)


class TestInMemory(ClearingPortsContract):
    @pytest.fixture
    async def ctx(self) -> ClearingContext:
        return MemoryClearing().context(Caller(Clock()))


@pytest.fixture(scope="module")
async def clearing_dsn(infra: Infra) -> str:
    return await migrated_database(infra, "clearing")


@pytest.mark.integration
class TestPostgreSQL(ClearingPortsContract):
    @pytest.fixture
    async def ctx(self, clearing_dsn: str) -> AsyncIterator[ClearingContext]:
        async with rolled_back(clearing_dsn) as conn:
            yield postgres_context(conn, Caller(Clock()))
