"""Whose fund holds a personal account's money (ADR 0021). Pure.

A personal account belongs to one region's fund at a time: its insured region's (the account's `admdvs`). What a
fund credited, what it carried over and what that money paid add up to what is attributed to it: the personal
accounts it holds, the lots it funded, and the payments it funded that were not given back.

Money that enters a personal account from a source attributed to another fund is carried over, as the national
practice moves a personal account's balance with the member on a transfer of insurance (转移接续): the other fund owes
the account's fund that amount at clearing. It happens when:
  * the member moves: the whole posted balance (held transfers included) goes to the new region's fund;
  * a region other than the member's credits the account (a sibling region of the province);
  * quota from a lot returns to a provider whose account's fund is not the lot's (the provider moved since);
  * a payment from a personal account is given back after the account changed fund.
In the ledger a carry is a posted transfer between the two fund accounts: the receiving fund's account is debited
(as if it had credited the money), the giving fund's account credited.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from services.wallet.domain.ledger import ZERO, Account, AccountKind

_CARRY_NAMESPACE = uuid.UUID("0b8e4a46-5f0e-4d0c-9a51-6f2d7d0c2a21")


class CarryCause(StrEnum):
    MOVE = "move"
    CREDIT = "credit"
    QUOTA_RETURN = "quota_return"
    REFUND = "refund"


@dataclass(frozen=True)
class Carry:
    """`amount` of a member's personal-account money goes from one fund to another: `from_admdvs` owes
    `to_admdvs` that amount at clearing."""

    carry_id: str
    psn_no: str
    from_admdvs: str
    to_admdvs: str
    amount: Decimal
    cause: CarryCause

    @property
    def ledger_id(self) -> uuid.UUID:
        return uuid.uuid5(_CARRY_NAMESPACE, self.carry_id)


def carry_id_for(cause: CarryCause, what: str) -> str:
    """A carry's id from what caused it (the same cause always names the same carry)."""
    return f"carry:{cause.value}:{what}"


def into_account(account: Account, source_admdvs: str, amount: Decimal, cause: CarryCause, what: str) -> Carry | None:
    """Money attributed to `source_admdvs` came into the personal `account`: carried over to the account's fund
    when that is another fund."""
    if source_admdvs == account.admdvs or amount <= ZERO:
        return None
    return Carry(carry_id_for(cause, what), _owner(account), source_admdvs, account.admdvs, amount, cause)


def on_move(account: Account, new_admdvs: str, what: str) -> Carry | None:
    """The member is insured in `new_admdvs` now: the account's posted balance (transfers still held included: a
    held amount is the account's until it is posted) goes to the new region's fund. The caller then attributes
    the account to `new_admdvs`."""
    held = account.credits_posted - account.debits_posted
    if account.admdvs == new_admdvs or held <= ZERO:
        return None
    return Carry(
        carry_id_for(CarryCause.MOVE, what), _owner(account), account.admdvs, new_admdvs, held, CarryCause.MOVE
    )


def _owner(account: Account) -> str:
    if account.kind is not AccountKind.PERSONAL:
        raise ValueError(f"{account.id}: only a personal account belongs to a fund")
    return account.id.split(":", 1)[1]
