"""What happened in the wallet service (past tense), published on wallet.events.v1.

Each event has a stable wire type and a version; a change that breaks readers is a new version.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.contracts.envelope import Admdvs, Period, PsnNo
from shared.contracts.events import DomainEvent
from shared.contracts.topics import WALLET_EVENTS
from shared.money import Money


class WalletEvent(DomainEvent):
    """An event of the wallet service."""

    STREAM = WALLET_EVENTS


class PersonalAccountCredited(WalletEvent):
    TYPE = "wallet.personal-account-credited"

    transfer_id: str
    psn_no: PsnNo
    admdvs: Admdvs
    amount: Money
    period: Period
    kind: str
    balance: Money
    occurred_at: AwareDatetime


class RegionWalletStatusRecorded(WalletEvent):
    TYPE = "wallet.region-wallet-status-changed"

    admdvs: Admdvs
    wallet_enabled: bool
    occurred_at: AwareDatetime


class WalletOpened(WalletEvent):
    TYPE = "wallet.wallet-opened"

    psn_no: PsnNo
    usage_admdvs: Admdvs
    occurred_at: AwareDatetime


class QuotaHeld(WalletEvent):
    """A transfer was requested: the amount is reserved on the provider's personal account."""

    TYPE = "wallet.quota-held"

    transfer_id: str
    from_psn_no: PsnNo
    to_psn_no: PsnNo
    relationship_id: str
    amount: Money
    deadline: AwareDatetime
    occurred_at: AwareDatetime


class QuotaGranted(WalletEvent):
    """The recipient accepted: the hold is posted and a lot of quota, funded by the provider's region,
    is in the wallet."""

    TYPE = "wallet.quota-granted"

    transfer_id: str
    from_psn_no: PsnNo
    to_psn_no: PsnNo
    funding_admdvs: Admdvs
    amount: Money
    occurred_at: AwareDatetime


class QuotaReleased(WalletEvent):
    """A waiting transfer went back: the hold is voided, nothing moved."""

    TYPE = "wallet.quota-released"

    transfer_id: str
    from_psn_no: PsnNo
    to_psn_no: PsnNo
    amount: Money
    reason: str
    occurred_at: AwareDatetime


class QuotaReturned(WalletEvent):
    """A relationship ended: the recipient's unspent quota from that provider went back to the provider's account."""

    TYPE = "wallet.quota-returned"

    lot_id: str
    relationship_id: str
    wallet_psn_no: PsnNo
    provider_psn_no: PsnNo
    amount: Money
    occurred_at: AwareDatetime


EVENTS: tuple[type[WalletEvent], ...] = (
    PersonalAccountCredited,
    RegionWalletStatusRecorded,
    WalletOpened,
    QuotaHeld,
    QuotaGranted,
    QuotaReleased,
    QuotaReturned,
)


class WalletDebitPortion(BaseModel):
    """One source a payment took from: a lot of quota, or a personal account."""

    model_config = ConfigDict(frozen=True)

    seq: int
    source: str = Field(description="wallet, own_account or provider_account")
    payer_psn_no: PsnNo = Field(description="whose wallet or account paid")
    lot_id: str | None = None
    funding_admdvs: Admdvs = Field(description="the region whose fund supplied this money")
    spending_admdvs: Admdvs = Field(description="the region where it was spent")
    amount: Money


class PaymentDebited(WalletEvent):
    """A payment the payment service asked for was taken, source by source (posted transfers to the
    spending region). What no source covered is the patient's cash."""

    TYPE = "wallet.payment-debited"

    setl_id: str
    purpose: str
    psn_no: PsnNo
    portions: list[WalletDebitPortion]
    wallet_pay: Money
    acct_pay: Money
    acct_mulaid_pay: Money
    balc: Money = Field(description="the patient's own personal-account balance after the payment")
    wallet_balc: Money = Field(description="the quota left in the patient's wallet")
    occurred_at: AwareDatetime


class PaymentRefused(WalletEvent):
    """A payment could not be taken (unknown person, no relationship, wallet rules, not enough for a contribution)."""

    TYPE = "wallet.payment-refused"

    setl_id: str
    reason_code: str
    reason: str
    occurred_at: AwareDatetime


class PaymentRefunded(WalletEvent):
    """A cancelled or reversed payment: every source got back exactly what it gave."""

    TYPE = "wallet.payment-refunded"

    setl_id: str
    psn_no: PsnNo
    amount: Money
    occurred_at: AwareDatetime


EVENTS = (*EVENTS, PaymentDebited, PaymentRefused, PaymentRefunded)


class FreezeRecorded(WalletEvent):
    """Interface v1.1: the wallet receives and pays nothing, the personal account sends no transfers; pending
    transfers to the wallet went back (`wallet.quota-released`, reason frozen); the quota stays where it is."""

    TYPE = "wallet.wallet-frozen"

    psn_no: PsnNo
    reason: str
    sender: Admdvs
    occurred_at: AwareDatetime


class UnfreezeRecorded(WalletEvent):
    TYPE = "wallet.wallet-unfrozen"

    psn_no: PsnNo
    reason: str
    sender: Admdvs
    occurred_at: AwareDatetime


EVENTS = (*EVENTS, FreezeRecorded, UnfreezeRecorded)


class FundBalanceCarried(WalletEvent):
    """Personal-account money went from one region's fund to another (ADR 0021): the member moved (the whole
    balance), a sibling region credited the account, or quota or a refund came back to an account that now belongs
    to another fund. `from_admdvs` owes `to_admdvs` the amount at clearing."""

    TYPE = "wallet.fund-balance-carried"

    carry_id: str = Field(min_length=1, description="unique per carry: carry:<cause>:<what caused it>")
    psn_no: PsnNo = Field(description="whose personal account")
    from_admdvs: Admdvs = Field(description="the fund that held the money (the debtor at clearing)")
    to_admdvs: Admdvs = Field(description="the fund that holds it now (the creditor at clearing)")
    amount: Money
    cause: Literal["move", "credit", "quota_return", "refund"]
    occurred_at: AwareDatetime


EVENTS = (*EVENTS, FundBalanceCarried)
