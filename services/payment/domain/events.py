"""Events on payment.events.v1."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.contracts.envelope import Admdvs, Period, PsnNo
from shared.contracts.events import DomainEvent
from shared.contracts.topics import PAYMENT_EVENTS
from shared.money import Money

PurposeName = Literal["settlement", "contribution"]


class PaymentEvent(DomainEvent):
    """An event of the payment service."""

    STREAM = PAYMENT_EVENTS


class InstitutionRegistered(PaymentEvent):
    """An institution was added or changed (type, region or wallet switch)."""

    TYPE = "payment.institution-registered"

    fixmedins_code: str
    fixmedins_name: str
    fixmedins_type: str
    admdvs: Admdvs
    wallet_enabled: bool
    occurred_at: AwareDatetime


class PaymentOpened(PaymentEvent):
    """A valid settlement or contribution asks the wallet service to take the money (its answer comes back
    on wallet.events.v1 as wallet.payment-debited or wallet.payment-refused)."""

    TYPE = "payment.payment-opened"

    setl_id: str
    purpose: PurposeName = Field(description="settlement or contribution")
    psn_no: PsnNo = Field(description="the patient, or the insured person of a contribution")
    payer_psn_no: PsnNo | None = Field(None, description="the provider (acct_used_flag 2) or contribution payer")
    spending_admdvs: Admdvs | None = Field(None, description="the institution's region (settlements)")
    amount: Money = Field(description="the personal part to pay, or the contribution")
    use_wallet: bool
    acct_used_flag: str
    sender: Admdvs = Field(
        description="the region code of the system that asked (who may pay is checked by the wallet)"
    )
    occurred_at: AwareDatetime


class SettlementPortion(BaseModel):
    model_config = ConfigDict(frozen=True)

    seq: int
    source: str = Field(description="wallet, own_account or provider_account")
    payer_psn_no: PsnNo
    lot_id: str | None = None
    funding_admdvs: Admdvs
    spending_admdvs: Admdvs
    amount: Money


class PaymentCompleted(PaymentEvent):
    """A settlement or contribution was paid: per source, and the cash rest."""

    TYPE = "payment.payment-completed"

    setl_id: str
    purpose: PurposeName
    psn_no: PsnNo
    fixmedins_code: str | None = None
    month: Period = Field(description="business month of setl_time (Asia/Shanghai)")
    psn_part_amt: Money
    acct_pay: Money
    acct_mulaid_pay: Money
    wallet_pay: Money
    psn_cash_pay: Money
    portions: list[SettlementPortion]
    occurred_at: AwareDatetime


class PaymentRefusedRecorded(PaymentEvent):
    """A settlement or contribution was refused (by this service's checks or by the wallet's)."""

    TYPE = "payment.payment-refused"

    setl_id: str | None = None
    purpose: PurposeName
    reason_code: str
    occurred_at: AwareDatetime


class RefundRequested(PaymentEvent):
    """A completed payment is being cancelled or reversed: the wallet gives every source its money back."""

    TYPE = "payment.refund-requested"

    setl_id: str
    psn_no: PsnNo
    occurred_at: AwareDatetime


class PaymentCancelled(PaymentEvent):
    """A payment was undone (cancellation like 2208, or reversal like 2601): every portion went back."""

    TYPE = "payment.payment-cancelled"

    setl_id: str
    purpose: PurposeName
    psn_no: PsnNo
    how: str = Field(description="cancellation or reversal")
    month: Period = Field(description="business month of the original setl_time")
    portions: list[SettlementPortion]
    occurred_at: AwareDatetime


class ReversalRecorded(PaymentEvent):
    """A reversal (like 2601) was applied: the original undone, blocked before it came, or nothing to undo."""

    TYPE = "payment.reversal-recorded"

    sender: Admdvs
    omsgid: str
    otype: str
    outcome: str
    setl_id: str | None = None
    occurred_at: AwareDatetime


EVENTS: tuple[type[PaymentEvent], ...] = (
    InstitutionRegistered,
    PaymentOpened,
    PaymentCompleted,
    PaymentRefusedRecorded,
    RefundRequested,
    PaymentCancelled,
    ReversalRecorded,
)
