from decimal import Decimal

import pytest

from services.wallet.domain.ledger import (
    Account,
    AccountKind,
    InsufficientBalanceError,
    LedgerError,
    post_transfer,
    take_increments,
)


def personal(balance: str = "0.00") -> Account:
    return Account("personal:1", AccountKind.PERSONAL, "440300", credits_posted=Decimal(balance))


def fund() -> Account:
    return Account("fund:440300", AccountKind.FUND, "440300")


def test_a_credit_moves_money_from_the_fund_to_the_personal_account() -> None:
    f, p = fund(), personal()
    post_transfer(f, p, Decimal("356.80"))
    assert p.balance == Decimal("356.80")
    assert f.balance == Decimal("-356.80"), "a region's fund is the counterparty and may go negative"


def test_a_personal_account_is_never_overdrawn_and_stays_unchanged() -> None:
    p, f = personal("10.00"), fund()
    with pytest.raises(InsufficientBalanceError):
        post_transfer(p, f, Decimal("10.01"))
    assert p.balance == Decimal("10.00")
    assert f.credits_posted == Decimal("0.00")


def test_holds_count_against_the_balance() -> None:
    p = personal("100.00")
    p.debits_pending = Decimal("60.00")
    with pytest.raises(InsufficientBalanceError):
        p.check_can_debit(Decimal("40.01"))
    p.check_can_debit(Decimal("40.00"))


@pytest.mark.parametrize("amount", ["0.00", "-1.00"])
def test_a_transfer_moves_a_positive_amount(amount: str) -> None:
    with pytest.raises(LedgerError):
        post_transfer(fund(), personal(), Decimal(amount))


def test_a_hot_account_read_without_its_lock_collects_changes_and_is_never_debited_where_it_must_not_overdraw() -> None:
    spending = Account("spent:440300", AccountKind.SPENDING, "440300", increments_only=True)
    p = personal("50.00")
    post_transfer(p, spending, Decimal("30.00"))
    assert spending.credits_posted == Decimal("30.00"), "only this transaction's change"
    with pytest.raises(LedgerError, match="needs the account's lock"):
        post_transfer(spending, p, Decimal("1.00"))
    issuing = Account("fund:440300", AccountKind.FUND, "440300", increments_only=True)
    post_transfer(issuing, p, Decimal("5.00"))  # a fund may go negative: no lock needed to debit it
    assert issuing.debits_posted == Decimal("5.00")


def test_increments_are_taken_once() -> None:
    stored = Account("fund:440300", AccountKind.FUND, "440300", debits_posted=Decimal("7.00"))
    changes = Account("fund:440300", AccountKind.FUND, "440300", debits_posted=Decimal("3.00"), increments_only=True)
    take_increments(stored, changes)
    take_increments(stored, changes)
    assert stored.debits_posted == Decimal("10.00")
    assert changes.debits_posted == Decimal("0.00")
