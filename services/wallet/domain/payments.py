"""Paying from a wallet and from personal accounts: who may pay what, and in which order. Pure.

The debit order (docs/adr/0010-paying-and-clearing.md): the patient's wallet first when `use_wallet`
is set (oldest lot first), then the patient's own account (`acct_used_flag` 1) or a provider's account
through an established relationship (`acct_used_flag` 2), each as far as it allows; the rest is cash.
A contribution is paid in full from the insured person's wallet (payer = insured) or from the payer's
personal account when the payer provides for the insured; never partly.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from services.wallet.domain.transfers import Party, Refusal
from shared.contracts.reasons import ReasonCode

ZERO = Decimal("0.00")


class Purpose(StrEnum):
    SETTLEMENT = "settlement"
    CONTRIBUTION = "contribution"


class PaymentState(StrEnum):
    DEBITED = "debited"
    REFUSED = "refused"
    REFUNDED = "refunded"


class SourceKind(StrEnum):
    WALLET = "wallet"
    OWN_ACCOUNT = "own_account"
    PROVIDER_ACCOUNT = "provider_account"


@dataclass(frozen=True)
class PaymentOrder:
    """What the payment service asks the wallet to take (from payment.settlement-opened)."""

    setl_id: str
    purpose: Purpose
    psn_no: str  # the patient, or the insured person of a contribution
    payer_psn_no: str | None  # the provider (acct_used_flag 2) or the contribution's payer
    spending_admdvs: str | None  # the institution's region; for a contribution: the insured's region
    amount: Decimal
    use_wallet: bool
    acct_used_flag: str


@dataclass(frozen=True)
class TakenPayment:
    """The wallet's record of a payment it was asked to take (one answer per setl_id)."""

    setl_id: str
    psn_no: str
    state: PaymentState


@dataclass(frozen=True)
class LotLeft:
    """A lot of quota in a wallet with some left to spend."""

    lot_id: str
    provider_psn_no: str
    funding_admdvs: str
    remaining: Decimal


@dataclass(frozen=True)
class Debit:
    """What a payment took from one source, with the lot's relationship when the source was a lot."""

    seq: int
    source: SourceKind
    payer_psn_no: str
    account_id: str
    lot_id: str | None
    funding_admdvs: str
    spending_admdvs: str
    amount: Decimal
    relationship_id: str | None = None
    wallet_psn_no: str | None = None
    provider_psn_no: str | None = None


@dataclass(frozen=True)
class Source:
    kind: SourceKind
    payer_psn_no: str
    account_id: str
    funding_admdvs: str
    available: Decimal
    lot_id: str | None = None


@dataclass(frozen=True)
class Portion:
    source: Source
    amount: Decimal


def split(amount: Decimal, sources: list[Source]) -> list[Portion]:
    """Take `amount` from the sources in their order, each as far as it allows."""
    portions = []
    left = amount
    for source in sources:
        if left <= ZERO:
            break
        take = min(left, source.available)
        if take > ZERO:
            portions.append(Portion(source, take))
            left -= take
    return portions


@dataclass(frozen=True)
class PayingSituation:
    patient: Party | None
    payer: Party | None
    relationship_id: str | None  # established: payer provides for the patient
    wallet_opened: bool
    region_enabled: bool  # the patient's insured region has the wallet function on
    sender_speaks_for_patient: bool = True  # a contribution is asked by the insured's province (or a gateway)


def uses_wallet(order: PaymentOrder) -> bool:
    if order.purpose is Purpose.CONTRIBUTION:
        return order.payer_psn_no == order.psn_no
    return order.use_wallet


def uses_provider(order: PaymentOrder) -> bool:
    if order.purpose is Purpose.CONTRIBUTION:
        return order.payer_psn_no != order.psn_no
    return order.acct_used_flag == "2"


def check_payment(order: PaymentOrder, s: PayingSituation) -> Refusal | None:
    """The refusals, in this order; None = take what the sources allow."""
    if s.patient is None:
        return Refusal(ReasonCode.UNKNOWN_PERSON, "the patient (or insured person) is not enrolled on the platform")
    if order.purpose is Purpose.CONTRIBUTION and not s.sender_speaks_for_patient:
        return Refusal(ReasonCode.NOT_A_PARTY, "a contribution is asked by the insured person's province")
    if uses_provider(order):
        if s.payer is None:
            return Refusal(ReasonCode.UNKNOWN_PERSON, "the provider is not enrolled on the platform")
        if s.relationship_id is None:
            return Refusal(ReasonCode.NO_RELATIONSHIP, "no established relationship from this provider to the patient")
    if uses_wallet(order):
        if order.spending_admdvs is not None and order.spending_admdvs != s.patient.insuplc_admdvs:
            return Refusal(
                ReasonCode.OUTSIDE_INSURED_REGION, "wallet quota is spent only in the wallet holder's insured region"
            )
        if not s.region_enabled:
            return Refusal(ReasonCode.REGION_NOT_ENABLED, "the insured region has no wallet function")
        if not s.wallet_opened:
            return Refusal(ReasonCode.WALLET_NOT_OPENED, "the patient has not opened a wallet")
    return None


def check_covered(order: PaymentOrder, portions: list[Portion]) -> Refusal | None:
    """A contribution is paid in full or not at all."""
    taken = sum((p.amount for p in portions), ZERO)
    if order.purpose is Purpose.CONTRIBUTION and taken < order.amount:
        return Refusal(ReasonCode.INSUFFICIENT_BALANCE, "not enough to pay the contribution in full")
    return None
