"""The clearing service's use cases without servers: the service layer on the in-memory ports
(services/clearing/adapters/memory.py). tests/e2e/test_clearing.py proves the same through Kafka and PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import pytest

from services.clearing.adapters.memory import MemoryClearing, UniqueViolationError
from services.clearing.domain import commands
from services.clearing.domain.months import Answer, ClearingStateError, Month, MonthTotals, Statement
from services.clearing.domain.obligations import Direction, Obligation, Portion
from services.clearing.service_layer.answer_statement import answer_statement
from services.clearing.service_layer.close_month import close_month, close_month_now
from services.clearing.service_layer.close_on_schedule import close_on_schedule
from services.clearing.service_layer.context import ClearingContext
from services.clearing.service_layer.record_obligations import record_obligations
from shared.caller import Caller
from shared.clock import BUSINESS_TZ
from shared.contracts.reasons import ReasonCode
from shared.contracts.topics import CLEARING_EVENTS, province_topic
from shared.messaging.messages import Decision, Outgoing

A, B, C = "150100", "640100", "230100"  # Hohhot, Yinchuan, Harbin
NATIONAL, GATEWAY = "100000", "990000"
MARCH, APRIL, MAY = "203003", "203004", "203005"


def at(period: str, day: int = 14, hour: int = 12) -> datetime:
    return datetime(int(period[:4]), int(period[4:]), day, hour, 0, tzinfo=BUSINESS_TZ)


class Clock:
    def __init__(self) -> None:
        self.at = at(MARCH)

    def now(self) -> datetime:
        return self.at


@dataclass
class World:
    db: MemoryClearing
    clock: Clock

    def as_(self, sender: str, msgid: str = "m-1") -> ClearingContext:
        return self.db.context(Caller(self.clock, sender, msgid, frozenset({GATEWAY}), frozenset({NATIONAL})))

    @property
    def platform(self) -> ClearingContext:
        return self.db.context(Caller(self.clock))

    async def pay(
        self, setl_id: str, *portions: Portion, month: str = MARCH, direction: Direction = Direction.FORWARD
    ) -> list[Outgoing]:
        cmd = commands.RecordObligations(setl_id, "settlement", month, portions, direction)
        return await record_obligations(cmd, self.platform)

    async def cancel(self, setl_id: str, *portions: Portion, month: str = MARCH) -> list[Outgoing]:
        return await self.pay(setl_id, *portions, month=month, direction=Direction.REVERSE)

    async def close(self, period: str, msgid: str = "close-1") -> Decision:
        return await close_month(commands.CloseMonth(period), self.as_(NATIONAL, msgid))

    def periods_of(self, setl_id: str) -> set[tuple[str, str]]:
        return {(i.direction.value, i.period) for i in self.db.items.values() if i.setl_id == setl_id}


def portion(funding: str, spending: str, amount: str, seq: int = 1) -> Portion:
    return Portion(seq, "wallet", funding, spending, Decimal(amount))


def kinds(messages: list[Outgoing]) -> list[tuple[str, str]]:
    return [(m.topic, m.type) for m in messages]


@pytest.fixture
def w() -> World:
    return World(MemoryClearing(), Clock())


# -- obligations ----------------------------------------------------------------------------------------------------


async def test_a_cross_region_portion_is_owed_by_the_funding_region_in_the_payments_month(w: World) -> None:
    out = await w.pay("s1", portion(A, B, "200.00", seq=1), portion(B, B, "50.00", seq=2))
    assert kinds(out) == [(CLEARING_EVENTS, "clearing.obligation-recorded")]
    [recorded] = out
    assert recorded.key == "s1"
    assert {k: recorded.body[k] for k in ("item_id", "direction", "period", "debtor_admdvs", "creditor_admdvs")} == {
        "item_id": "s1:1:f", "direction": "forward", "period": MARCH, "debtor_admdvs": A, "creditor_admdvs": B,
    }  # fmt: skip
    assert recorded.body["amount"] == "200.00"
    assert list(w.db.items) == ["s1:1:f"], "spent where it was funded: nothing to clear"


async def test_a_repeated_payment_event_records_nothing_twice(w: World) -> None:
    assert len(await w.pay("s1", portion(A, B, "200.00"))) == 1
    assert await w.pay("s1", portion(A, B, "200.00")) == []
    assert len(w.db.items) == 1


async def test_a_cancellation_inside_the_month_nets_in_that_month(w: World) -> None:
    await w.pay("s1", portion(A, B, "200.00"))
    out = await w.cancel("s1", portion(A, B, "200.00"))
    assert [m.body["item_id"] for m in out] == ["s1:1:r"]
    assert w.periods_of("s1") == {("forward", MARCH), ("reverse", MARCH)}
    assert await w.cancel("s1", portion(A, B, "200.00")) == [], "a repeat"


async def test_a_cancellation_after_its_month_closed_joins_the_next_open_month(w: World) -> None:
    await w.pay("s1", portion(A, B, "200.00"))
    w.clock.at = at(APRIL, day=2)
    assert (await w.close(MARCH)).status == "completed"
    await w.cancel("s1", portion(A, B, "200.00"))
    assert w.periods_of("s1") == {("forward", MARCH), ("reverse", APRIL)}


async def test_a_payment_of_a_closed_month_joins_the_first_open_month_after_the_latest_closed(w: World) -> None:
    w.clock.at = at(MAY, day=2)
    assert (await w.close(APRIL)).status == "completed"
    await w.pay("late", portion(A, B, "10.00"), month=MARCH)  # March never closed, but April did
    [item] = w.db.items.values()
    assert (item.period, item.natural_month) == (MAY, MARCH)


async def test_a_cancellation_whose_payment_was_never_counted_nets_in_its_month(w: World) -> None:
    await w.cancel("s9", portion(A, B, "10.00"), month=MARCH)
    assert w.periods_of("s9") == {("reverse", MARCH)}


# -- closing a month ------------------------------------------------------------------------------------------------


async def payments_between_a_and_b(w: World) -> None:
    await w.pay("s1", portion(A, B, "200.00"))  # A owes B 200
    await w.pay("s2", portion(A, B, "50.00"), portion(C, B, "7.00", seq=2))
    await w.cancel("s2", portion(A, B, "50.00"))  # netted: A owes B 200 + 50 - 50
    await w.pay("s3", portion(B, A, "80.00"))  # B owes A 80
    await w.pay("s4", portion(A, B, "60.00"))  # A owes B 260


async def test_an_ended_month_closes_into_one_statement_per_region(w: World) -> None:
    await payments_between_a_and_b(w)
    w.clock.at = at(APRIL, day=1, hour=0)
    decision = await w.close(MARCH)
    assert decision.status == "completed"
    closed, *statements = decision.messages
    assert (closed.topic, closed.key, closed.type) == (CLEARING_EVENTS, MARCH, "clearing.month-closed")
    assert {k: closed.body[k] for k in ("period", "items", "pairs", "statements", "gross")} == {
        "period": MARCH, "items": 6, "pairs": 2, "statements": 3, "gross": "347.00",
    }  # fmt: skip
    assert [(m.topic, m.key, m.type) for m in statements] == [
        (province_topic(A), MARCH, "clearing.statement-issued"),
        (province_topic(C), MARCH, "clearing.statement-issued"),
        (province_topic(B), MARCH, "clearing.statement-issued"),
    ]
    a, c, b = (m.body for m in statements)
    assert (a["statement_id"], a["owes"], a["owed"], a["net"]) == (f"CS{MARCH}{A}", "260.00", "80.00", "-180.00")
    assert a["counterparts"] == [{"admdvs": B, "owes": "260.00", "owed": "80.00", "net": "-180.00"}]
    assert b["counterparts"] == [
        {"admdvs": A, "owes": "80.00", "owed": "260.00", "net": "180.00"},
        {"admdvs": C, "owes": "0.00", "owed": "7.00", "net": "7.00"},
    ]
    assert c["net"] == "-7.00"
    month = w.db.months[MARCH]
    assert (month.closed_at, month.closed_by) == (w.clock.at, f"{NATIONAL}:close-1")


async def test_a_month_is_closed_by_the_national_operator_only(w: World) -> None:
    w.clock.at = at(APRIL)
    for sender in (A, GATEWAY):
        refused = await close_month(commands.CloseMonth(MARCH), w.as_(sender))
        assert (refused.status, refused.reason_code) == ("rejected", ReasonCode.SENDER_NOT_ALLOWED)
    assert not w.db.months


async def test_a_month_that_has_not_ended_does_not_close(w: World) -> None:
    await w.pay("s1", portion(A, B, "200.00"))
    for period in (MARCH, APRIL):  # this month, and one to come
        refused = await w.close(period)
        assert (refused.status, refused.reason_code) == ("rejected", ReasonCode.PERIOD_NOT_ENDED)
        assert refused.messages == []
    assert not w.db.months


async def test_a_closed_month_does_not_close_again(w: World) -> None:
    await w.pay("s1", portion(A, B, "200.00"))
    w.clock.at = at(APRIL)
    assert (await w.close(MARCH)).status == "completed"
    for again in (
        await w.close(MARCH, "close-2"),
        await close_month_now(commands.CloseMonthNow(MARCH, "operator"), w.platform),
    ):
        assert (again.status, again.reason_code) == ("rejected", ReasonCode.PERIOD_CLOSED)
    assert w.db.months[MARCH].closed_by == f"{NATIONAL}:close-1"
    with pytest.raises(Exception, match="closed"):  # the schema (and its fake) refuse any item of a closed month
        await w.db.context(Caller(w.clock)).obligations.add(
            Obligation.of("x", portion(A, B, "1.00"), Direction.FORWARD, MARCH, MARCH, "settlement", w.clock.at)
        )


async def test_a_month_without_obligations_closes_empty(w: World) -> None:
    w.clock.at = at(APRIL)
    decision = await close_month_now(commands.CloseMonthNow(MARCH, "operator"), w.platform)
    assert decision.status == "completed"
    [closed] = decision.messages
    assert (closed.body["items"], closed.body["statements"], closed.body["gross"]) == (0, 0, "0.00")
    assert w.db.months[MARCH].closed_by == "operator"


async def test_the_schedule_closes_last_month_once_it_has_been_over_for_some_days(w: World) -> None:
    await w.pay("s1", portion(A, B, "200.00"))
    w.clock.at = at(APRIL, day=2)
    assert await close_on_schedule(commands.CloseOnSchedule(after_days=2), w.platform) is None, "not yet"
    w.clock.at = at(APRIL, day=3)
    decision = await close_on_schedule(commands.CloseOnSchedule(after_days=2), w.platform)
    assert decision is not None
    assert kinds(decision.messages)[0] == (CLEARING_EVENTS, "clearing.month-closed")
    assert w.db.months[MARCH].closed_by == "schedule"
    assert await close_on_schedule(commands.CloseOnSchedule(after_days=2), w.platform) is None, "closed already"


# -- statements -----------------------------------------------------------------------------------------------------


async def closed_march(w: World) -> None:
    await payments_between_a_and_b(w)
    w.clock.at = at(APRIL)
    assert (await w.close(MARCH)).status == "completed"


async def test_a_region_confirms_its_statement(w: World) -> None:
    await closed_march(w)
    sid = f"CS{MARCH}{B}"
    decision = await answer_statement(commands.ConfirmStatement(sid, B), w.as_(B, "a-1"))
    assert (decision.status, decision.ids) == ("completed", {"statement_id": sid})
    [answered] = decision.messages
    assert (answered.topic, answered.key, answered.type) == (CLEARING_EVENTS, MARCH, "clearing.statement-answered")
    assert (answered.body["answer"], answered.body["reason"], answered.body["admdvs"]) == ("confirmed", None, B)
    assert w.db.statements[sid].answer is Answer.CONFIRMED
    assert w.db.answers[(B, "a-1")][1].answer is Answer.CONFIRMED


async def test_a_region_disputes_its_statement_and_may_answer_again(w: World) -> None:
    await closed_march(w)
    sid = f"CS{MARCH}{A}"
    disputed = await answer_statement(commands.DisputeStatement(sid, A, "a refund missing"), w.as_(A, "a-1"))
    assert disputed.status == "completed"
    assert (disputed.messages[0].body["answer"], disputed.messages[0].body["reason"]) == (
        "disputed", "a refund missing",
    )  # fmt: skip
    assert w.db.statements[sid].answer is Answer.DISPUTED
    confirmed = await answer_statement(commands.ConfirmStatement(sid, A), w.as_(A, "a-2"))
    assert confirmed.status == "completed"
    assert w.db.statements[sid].answer is Answer.CONFIRMED, "the latest answer stands"
    assert sorted(w.db.answers) == [(A, "a-1"), (A, "a-2")], "every answer is kept"


async def test_a_dispute_reason_keeps_no_id_number_in_clear(w: World) -> None:
    """Free text a province typed goes on to clearing.events.v1 and the console: masked at the use case."""
    await closed_march(w)
    typed = "patient 610102195503031234 charged twice"
    disputed = await answer_statement(commands.DisputeStatement(f"CS{MARCH}{A}", A, typed), w.as_(A, "a-1"))
    assert disputed.messages[0].body["reason"] == "patient 610102********1234 charged twice"


async def test_a_statement_is_answered_by_its_own_region_only(w: World) -> None:
    await closed_march(w)
    sid = f"CS{MARCH}{A}"
    refusals: list[tuple[commands.ConfirmStatement | commands.DisputeStatement, str, ReasonCode]] = [
        (commands.ConfirmStatement(sid, B), B, ReasonCode.UNKNOWN_STATEMENT),  # not B's statement
        (commands.ConfirmStatement(f"CS{MAY}{A}", A), A, ReasonCode.UNKNOWN_STATEMENT),  # an unknown month
        (commands.DisputeStatement("nothing", A, "?"), A, ReasonCode.UNKNOWN_STATEMENT),
        (commands.ConfirmStatement(sid, A), B, ReasonCode.NOT_A_PARTY),  # A's statement, from B's province
        # from another province, whether or not the region has a statement: the sender is judged first
        (commands.ConfirmStatement(f"CS{MAY}{A}", A), B, ReasonCode.NOT_A_PARTY),
    ]
    for cmd, sender, code in refusals:
        refused = await answer_statement(cmd, w.as_(sender))
        assert (refused.status, refused.reason_code, refused.messages) == ("rejected", code, [])
    assert w.db.statements[sid].answer is Answer.ISSUED
    assert not w.db.answers
    by_gateway = await answer_statement(commands.ConfirmStatement(sid, A), w.as_(GATEWAY))
    assert by_gateway.status == "completed", "a trusted national gateway speaks for any region"


async def test_a_repeated_answer_message_is_refused_by_the_store(w: World) -> None:
    """The consumer's inbox answers a repeat from its record; the store never keeps one message twice."""
    await closed_march(w)
    sid = f"CS{MARCH}{B}"
    assert (await answer_statement(commands.ConfirmStatement(sid, B), w.as_(B, "a-1"))).status == "completed"
    with pytest.raises(UniqueViolationError):
        await answer_statement(commands.ConfirmStatement(sid, B), w.as_(B, "a-1"))
    assert len(w.db.answers) == 1


# -- the aggregates' guards -----------------------------------------------------------------------------------------


def test_a_month_closes_once_and_only_after_it_ended() -> None:
    totals = MonthTotals(0, Decimal("0.00"), 0, 0)
    month = Month(MARCH)
    with pytest.raises(ClearingStateError, match="has not ended"):
        month.close(totals, at(MARCH), "operator")
    closed = month.close(totals, at(APRIL), "operator")
    assert (closed.period, month.closed, month.closed_by) == (MARCH, True, "operator")
    with pytest.raises(ClearingStateError, match="closed already"):
        month.close(totals, at(APRIL), "operator")


def test_a_statement_is_answered_for_its_own_region_only() -> None:
    s = Statement(f"CS{MARCH}{A}", MARCH, A, Decimal("1.00"), Decimal("0.00"), Decimal("-1.00"))
    with pytest.raises(ClearingStateError, match="not 640100's"):
        s.confirm(B, B, "m", at(APRIL))
    assert (s.answer, s.new_answers) == (Answer.ISSUED, [])
    s.dispute(A, "why", A, "m", at(APRIL))
    assert (s.answer, [x.reason for x in s.new_answers]) == (Answer.DISPUTED, ["why"])


def test_an_obligation_is_only_what_crosses_regions() -> None:
    with pytest.raises(ValueError, match="nothing is owed"):
        Obligation.of("s", portion(A, A, "1.00"), Direction.FORWARD, MARCH, MARCH, "settlement", at(MARCH))
    reverse = Obligation.of("s", portion(A, B, "1.00", 3), Direction.REVERSE, APRIL, MARCH, "settlement", at(APRIL))
    assert (reverse.item_id, reverse.signed) == ("s:3:r", Decimal("-1.00"))
