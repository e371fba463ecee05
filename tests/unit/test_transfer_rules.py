"""The transfer rules as pure decisions (services/wallet/domain/transfers.py) and the ledger's holds."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal

import pytest

from services.wallet.domain.ledger import Account, AccountKind, InsufficientBalanceError, hold, post_hold, void_hold
from services.wallet.domain.transfers import (
    Party,
    Situation,
    TransferRequest,
    check_request,
    check_situation,
    in_quiet_hours,
    return_deadline,
)
from shared.clock import BUSINESS_TZ
from shared.contracts.policy import RegionalPolicy
from shared.contracts.reasons import ReasonCode

NOON = datetime(2026, 11, 23, 12, 0, tzinfo=BUSINESS_TZ)
SENDER = Party("P", "cp", "np", "440300", True, False)
RECIPIENT = Party("R", "cr", "nr", "610100", False, True)
REQUEST = TransferRequest("P", "R", "cr", "nr", Decimal("100.00"), True)
NATIONAL = RegionalPolicy()
OK = Situation(SENDER, RECIPIENT, "rel", True, "610100", True, False, 0, Decimal("500.00"))


def code(x: object) -> ReasonCode | None:
    return getattr(x, "code", None)


@pytest.mark.parametrize(("amount", "ok"), [("0.99", False), ("1.00", True), ("2000.00", True), ("2000.01", False)])
def test_a_transfer_moves_one_to_two_thousand_yuan(amount: str, ok: bool) -> None:
    refusal = check_request(replace(REQUEST, amount=Decimal(amount)), NOON, NATIONAL)
    assert (refusal is None) == ok
    assert ok or code(refusal) is ReasonCode.AMOUNT_OUT_OF_RANGE


@pytest.mark.parametrize(
    ("hour", "minute", "quiet"), [(21, 59, False), (22, 0, True), (3, 0, True), (5, 59, True), (6, 0, False)]
)
def test_no_transfers_between_ten_at_night_and_six_in_the_morning(hour: int, minute: int, quiet: bool) -> None:
    at = NOON.replace(hour=hour, minute=minute)
    assert in_quiet_hours(at) == quiet
    assert (code(check_request(REQUEST, at, NATIONAL)) is ReasonCode.QUIET_HOURS) == quiet


def test_an_unverified_sender_is_refused() -> None:
    assert code(check_request(replace(REQUEST, verified=False), NOON, NATIONAL)) is ReasonCode.VERIFICATION_FAILED


def test_unaccepted_transfers_return_at_six_the_next_morning() -> None:
    assert return_deadline(NOON) == datetime(2026, 11, 24, 6, 0, tzinfo=BUSINESS_TZ)
    assert return_deadline(NOON.replace(hour=6, minute=0)) == datetime(2026, 11, 24, 6, 0, tzinfo=BUSINESS_TZ)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"sender": None}, ReasonCode.UNKNOWN_PERSON),
        ({"relationship_id": None}, ReasonCode.NO_RELATIONSHIP),
        ({"sender": replace(SENDER, may_provide=False)}, ReasonCode.NOT_ELIGIBLE_PROVIDER),
        ({"recipient": replace(RECIPIENT, may_receive=False)}, ReasonCode.NOT_ELIGIBLE_RECIPIENT),
        ({"recipient": replace(RECIPIENT, name_hash="other")}, ReasonCode.IDENTITY_MISMATCH),
        ({"recipient_wallet_region": None}, ReasonCode.WALLET_NOT_OPENED),
        ({"sender_region_enabled": False}, ReasonCode.REGION_NOT_ENABLED),
        ({"recipient_region_enabled": False}, ReasonCode.REGION_NOT_ENABLED),
        ({"pending_to_recipient": True}, ReasonCode.PENDING_TRANSFER_EXISTS),
        ({"sent_today": 3}, ReasonCode.DAILY_LIMIT_REACHED),
        ({"available": Decimal("99.99")}, ReasonCode.INSUFFICIENT_BALANCE),
    ],
)
def test_each_rule_refuses_with_its_code(change: dict[str, object], expected: ReasonCode) -> None:
    assert check_situation(REQUEST, OK, NATIONAL) is None
    assert code(check_situation(REQUEST, replace(OK, **change), NATIONAL)) is expected  # type: ignore[arg-type]


def test_a_hold_reserves_then_posts_or_voids_and_never_overdraws() -> None:
    personal = Account("personal:P", AccountKind.PERSONAL, "440300", credits_posted=Decimal("500.00"))
    wallet = Account("wallet:R", AccountKind.WALLET, "610100")
    hold(personal, wallet, Decimal("300.00"))
    assert (personal.balance, wallet.balance) == (Decimal("200.00"), Decimal("0.00"))
    with pytest.raises(InsufficientBalanceError):
        hold(personal, wallet, Decimal("200.01"))
    post_hold(personal, wallet, Decimal("300.00"))
    assert (personal.balance, wallet.balance) == (Decimal("200.00"), Decimal("300.00"))
    hold(personal, wallet, Decimal("200.00"))
    void_hold(personal, wallet, Decimal("200.00"))
    assert (personal.balance, wallet.balance, personal.debits_pending) == (
        Decimal("200.00"),
        Decimal("300.00"),
        Decimal("0.00"),
    )


def test_a_region_can_set_its_own_transfer_range_and_daily_count() -> None:
    tight = RegionalPolicy(transfer_max_amount=Decimal("500.00"), transfers_per_day=1)
    assert code(check_request(REQUEST, NOON, tight)) is None
    assert (
        code(check_request(replace(REQUEST, amount=Decimal("500.01")), NOON, tight)) is ReasonCode.AMOUNT_OUT_OF_RANGE
    )
    assert code(check_situation(REQUEST, replace(OK, sent_today=1), tight)) is ReasonCode.DAILY_LIMIT_REACHED
