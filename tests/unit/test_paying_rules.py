"""The pure rules of paying and clearing: debit order, settlement checks, months."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from services.clearing.domain.clearing import first_open_month, has_ended, month_of, next_month
from services.payment.domain.institutions import Institution
from services.payment.domain.settlements import SettlementAsk, check_contribution, check_settlement
from services.wallet.domain.payments import (
    PayingSituation,
    PaymentOrder,
    Purpose,
    Source,
    SourceKind,
    check_covered,
    check_payment,
    split,
)
from services.wallet.domain.transfers import Party
from shared.contracts.reasons import ReasonCode

D = Decimal
SH = ZoneInfo("Asia/Shanghai")


def lot(lot_id: str, amount: str, region: str = "440300") -> Source:
    return Source(SourceKind.WALLET, "p1", "wallet:p1", region, D(amount), lot_id)


def test_the_oldest_lot_pays_first_then_the_account_and_the_rest_is_cash() -> None:
    account = Source(SourceKind.OWN_ACCOUNT, "p1", "personal:p1", "610100", D("50.00"))
    portions = split(D("400.00"), [lot("old", "300.00"), lot("new", "30.00"), account])
    assert [(p.source.lot_id or p.source.kind.value, p.amount) for p in portions] == [
        ("old", D("300.00")),
        ("new", D("30.00")),
        ("own_account", D("50.00")),
    ]
    assert split(D("10.00"), [lot("old", "300.00"), account])[0].amount == D("10.00")
    assert split(D("10.00"), [lot("empty", "0.00")]) == []


def order(**kw: object) -> PaymentOrder:
    base: dict[str, object] = {
        "setl_id": "s",
        "purpose": Purpose.SETTLEMENT,
        "psn_no": "p1",
        "payer_psn_no": None,
        "spending_admdvs": "610100",
        "amount": D("100.00"),
        "use_wallet": True,
        "acct_used_flag": "0",
    }
    return PaymentOrder(**{**base, **kw})  # type: ignore[arg-type]


PATIENT = Party("p1", "c", "n", "610100", False, True)


@pytest.mark.parametrize(
    ("o", "situation", "code"),
    [
        (order(), PayingSituation(None, None, None, True, True), ReasonCode.UNKNOWN_PERSON),
        (order(spending_admdvs="440300"), PayingSituation(PATIENT, None, None, True, True), "OUTSIDE_INSURED_REGION"),
        (order(), PayingSituation(PATIENT, None, None, True, False), ReasonCode.REGION_NOT_ENABLED),
        (order(), PayingSituation(PATIENT, None, None, False, True), ReasonCode.WALLET_NOT_OPENED),
        (
            order(use_wallet=False, acct_used_flag="2", payer_psn_no="p2"),
            PayingSituation(PATIENT, PATIENT, None, False, False),
            ReasonCode.NO_RELATIONSHIP,
        ),
        (order(use_wallet=False, acct_used_flag="1"), PayingSituation(PATIENT, None, None, False, False), None),
    ],
)
def test_who_may_pay(o: PaymentOrder, situation: PayingSituation, code: str | None) -> None:
    refusal = check_payment(o, situation)
    assert (refusal.code if refusal else None) == code


def test_a_contribution_is_paid_in_full_or_not_at_all() -> None:
    o = order(purpose=Purpose.CONTRIBUTION, payer_psn_no="p1", spending_admdvs=None, amount=D("380.00"))
    short = check_covered(o, split(D("380.00"), [lot("a", "300.00")]))
    assert short is not None
    assert short.code is ReasonCode.INSUFFICIENT_BALANCE
    assert check_covered(o, split(D("380.00"), [lot("a", "400.00")])) is None
    assert check_contribution("310", D("1.00")).code is ReasonCode.PURPOSE_NOT_ALLOWED  # type: ignore[union-attr]
    assert check_contribution("410", D("1.00")) is None


HOSPITAL = Institution("H61010300012", "h", "1", "610100", True)
PHARMACY = Institution("P61010300013", "p", "2", "610100", False)


def ask(**kw: object) -> SettlementAsk:
    base: dict[str, object] = {
        "fixmedins_code": "H61010300012",
        "mdtrtarea_admvs": "610100",
        "med_type": "11",
        "medfee_sumamt": D("420.00"),
        "fund_pay_sumamt": D("230.00"),
        "psn_part_amt": D("190.00"),
        "acct_used_flag": "0",
        "use_wallet": True,
    }
    return SettlementAsk(**{**base, **kw})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("a", "institution", "code"),
    [
        (ask(), HOSPITAL, None),
        (ask(psn_part_amt=D("191.00")), HOSPITAL, ReasonCode.INVALID_MESSAGE),
        (ask(fund_pay_sumamt=D("500.00"), psn_part_amt=D("-80.00")), HOSPITAL, ReasonCode.INVALID_MESSAGE),
        (ask(), None, ReasonCode.UNKNOWN_INSTITUTION),
        (ask(mdtrtarea_admvs="610200"), HOSPITAL, ReasonCode.INVALID_MESSAGE),
        (ask(med_type="41"), HOSPITAL, ReasonCode.PURPOSE_NOT_ALLOWED),
        (ask(med_type="11", use_wallet=False), PHARMACY, ReasonCode.PURPOSE_NOT_ALLOWED),
        (ask(med_type="41"), PHARMACY, ReasonCode.INSTITUTION_NOT_ENABLED),
        (ask(med_type="41", use_wallet=False), PHARMACY, None),
    ],
)
def test_settlement_checks(a: SettlementAsk, institution: Institution | None, code: ReasonCode | None) -> None:
    refusal = check_settlement(a, institution)
    assert (refusal.code if refusal else None) == code


def test_months_roll_over_and_closed_ones_are_skipped() -> None:
    assert next_month("202611") == "202612"
    assert next_month("202612") == "202701"
    assert first_open_month("202611", {"202611", "202612"}) == "202701"
    assert first_open_month("202611", set()) == "202611"
    assert month_of(datetime(2026, 11, 30, 16, 30, tzinfo=ZoneInfo("UTC"))) == "202612", "Shanghai time"
    assert has_ended("202611", datetime(2026, 12, 1, 0, 0, tzinfo=SH))
    assert not has_ended("202611", datetime(2026, 11, 30, 23, 59, tzinfo=SH))


def test_nothing_joins_a_month_before_the_latest_closed_one() -> None:
    assert first_open_month("202609", {"202610"}) == "202611"
    assert first_open_month("202612", {"202610"}) == "202612"


def test_a_schedule_closes_last_month_after_some_days() -> None:
    from services.clearing.domain.clearing import due_for_closing, previous_month

    assert previous_month("202701") == "202612"
    assert due_for_closing(datetime(2027, 1, 3, 9, 0, tzinfo=SH), 2) == "202612"
    assert due_for_closing(datetime(2027, 1, 2, 23, 0, tzinfo=SH), 2) is None
