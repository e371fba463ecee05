"""The ledger, in the spirit of TigerBeetle: accounts never change except through transfers.

Every movement is a transfer with a client-chosen id between two accounts. A transfer is
`pending` (a hold: reserved, not yet moved), `posted` or `voided`; posted and voided are final.
An account with `debits_must_not_exceed_credits` can never be overdrawn, counting holds.
Pure rules: no I/O here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

ZERO = Decimal("0.00")
TRANSFER_NAMESPACE = uuid.UUID("5b0c7d1e-9d8a-4c61-8f27-3b1f3f0b2a10")


def transfer_id_for(client_id: str) -> uuid.UUID:
    """A ledger transfer's id, from its client id (sender:msgid): the same request always names the same transfer."""
    return uuid.uuid5(TRANSFER_NAMESPACE, client_id)


class AccountKind(StrEnum):
    PERSONAL = "personal"
    """A member's personal account (个人账户) mirrored from the insured region."""
    FUND = "fund"
    """A region's fund: the counterparty of credits into personal accounts; may go negative."""
    WALLET = "wallet"
    """A member's wallet: quota received from providers."""
    SPENDING = "spending"
    """A region's spending: what personal accounts and wallets paid there (settlements, contributions)."""


def personal_account_id(psn_no: str) -> str:
    return f"personal:{psn_no}"


def fund_account_id(admdvs: str) -> str:
    return f"fund:{admdvs}"


class TransferState(StrEnum):
    PENDING = "pending"
    POSTED = "posted"
    VOIDED = "voided"


class LedgerError(Exception):
    pass


class InsufficientBalanceError(LedgerError):
    pass


@dataclass
class Account:
    id: str
    kind: AccountKind
    admdvs: str
    debits_pending: Decimal = ZERO
    debits_posted: Decimal = ZERO
    credits_pending: Decimal = ZERO
    credits_posted: Decimal = ZERO
    increments_only: bool = False
    """True for a hot account (a region's fund or spending, which many transactions change at once) read without
    its lock: it starts at zero and collects one transaction's changes, which are added to the stored balances at
    the transaction's end. Its balance means nothing, so nothing may debit it that must not overdraw it."""

    @property
    def debits_must_not_exceed_credits(self) -> bool:
        return self.kind is not AccountKind.FUND

    @property
    def balance(self) -> Decimal:
        """What may still be spent or reserved: posted credits less posted and pending debits."""
        return self.credits_posted - self.debits_posted - self.debits_pending

    def check_can_debit(self, amount: Decimal) -> None:
        if self.debits_must_not_exceed_credits and self.increments_only:
            raise LedgerError(f"{self.id}: a debit that must not overdraw it needs the account's lock")
        if self.debits_must_not_exceed_credits and amount > self.balance:
            raise InsufficientBalanceError(f"{self.id}: balance {self.balance} < {amount}")


def take_increments(into: Account, increments: Account) -> None:
    """Move what an increments-only account collected onto `into` (the stored account, or a transaction's total
    of its changes); `increments` starts again from zero."""
    into.debits_pending += increments.debits_pending
    into.debits_posted += increments.debits_posted
    into.credits_pending += increments.credits_pending
    into.credits_posted += increments.credits_posted
    increments.debits_pending = increments.debits_posted = increments.credits_pending = increments.credits_posted = ZERO


def post_transfer(debit: Account, credit: Account, amount: Decimal) -> None:
    """Apply a posted transfer to both accounts, or raise without changing either."""
    if amount <= ZERO:
        raise LedgerError("a transfer moves a positive amount")
    if debit.id == credit.id:
        raise LedgerError("a transfer needs two different accounts")
    debit.check_can_debit(amount)
    debit.debits_posted += amount
    credit.credits_posted += amount


def hold(debit: Account, credit: Account, amount: Decimal) -> None:
    """A pending transfer: the amount is reserved on the debit side and promised on the credit side."""
    if amount <= ZERO:
        raise LedgerError("a transfer moves a positive amount")
    if debit.id == credit.id:
        raise LedgerError("a transfer needs two different accounts")
    debit.check_can_debit(amount)
    debit.debits_pending += amount
    credit.credits_pending += amount


def post_hold(debit: Account, credit: Account, amount: Decimal) -> None:
    """The pending transfer happens: reserved becomes moved."""
    debit.debits_pending -= amount
    debit.debits_posted += amount
    credit.credits_pending -= amount
    credit.credits_posted += amount


def void_hold(debit: Account, credit: Account, amount: Decimal) -> None:
    """The pending transfer is cancelled: the reservation is released, nothing moved."""
    debit.debits_pending -= amount
    credit.credits_pending -= amount


def wallet_account_id(psn_no: str) -> str:
    return f"wallet:{psn_no}"


def spending_account_id(admdvs: str) -> str:
    return f"spent:{admdvs}"


class MovementKind(StrEnum):
    """What a change to a member's spendable balance was, as the statement names it (interface v1.1)."""

    TRANSFER_IN = "transfer_in"
    TRANSFER_RETURNED = "transfer_returned"
    PAYMENT = "payment"
    PAYMENT_CANCELLED = "payment_cancelled"
    CONTRIBUTION = "contribution"
    QUOTA_RETURNED = "quota_returned"
    CREDIT = "credit"
    TRANSFER_OUT = "transfer_out"


MEMBER_ACCOUNTS = (AccountKind.PERSONAL, AccountKind.WALLET)


@dataclass(frozen=True)
class Entry:
    """What a ledger change belongs to, for the member's statement: when (business time) and which request."""

    at: datetime
    transfer_id: str | None = None
    setl_id: str | None = None
    contribution: bool = False


FUND_CARRY = "fund.carry"
"""The code of a transfer between two funds' accounts: a personal account's money carried over (domain/funds.py)."""


@dataclass(frozen=True)
class LedgerTransfer:
    """A transfer to write: its id, the client id it answers to, both accounts as the domain left them, the
    amount, its code and the member statement's entry."""

    id: uuid.UUID
    client_id: str
    debit: Account
    credit: Account
    amount: Decimal
    code: str
    entry: Entry


def posted_kinds(code: str, entry: Entry) -> tuple[MovementKind, MovementKind]:
    """The statement's kind on the debit side and on the credit side of a transfer posted at once (only a
    personal account's or a wallet's side is shown)."""
    if code == FUND_CARRY:  # fund to fund: no member's account on either side, so no statement line
        return MovementKind.CREDIT, MovementKind.CREDIT
    if code == "quota.return":
        return MovementKind.QUOTA_RETURNED, MovementKind.QUOTA_RETURNED
    if code == "pay.refund":
        return MovementKind.PAYMENT_CANCELLED, MovementKind.PAYMENT_CANCELLED
    if code.startswith("pay."):
        kind = MovementKind.CONTRIBUTION if entry.contribution else MovementKind.PAYMENT
        return kind, kind
    if code.startswith("credit."):
        return MovementKind.CREDIT, MovementKind.CREDIT
    raise LedgerError(f"no statement kind for a posted {code}")


def member_of(account: Account) -> tuple[str, str] | None:
    """(psn_no, 'personal' | 'wallet') for a member's account; None for a fund or a spending account."""
    if account.kind not in MEMBER_ACCOUNTS:
        return None
    return account.id.split(":", 1)[1], account.kind.value
