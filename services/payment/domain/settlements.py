"""Settlements (like 2207) and contributions: what the payment service checks before any money moves. Pure.

Institution type and medical type: a designated medical institution (type 1) settles outpatient (11, 14)
and inpatient (2101) care; a retail pharmacy (type 2) settles pharmacy purchases (41). Anything else is
PURPOSE_NOT_ALLOWED: quota and bound accounts pay only for these (RULES.md section 4).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo

from services.payment.domain import events
from services.payment.domain.institutions import MEDICAL_INSTITUTION, RETAIL_PHARMACY, Institution
from shared.contracts.reasons import ReasonCode

ZERO = Decimal("0.00")
SHANGHAI = ZoneInfo("Asia/Shanghai")
MED_TYPES_BY_INSTITUTION: dict[str, frozenset[str]] = {
    MEDICAL_INSTITUTION: frozenset({"11", "14", "2101"}),
    RETAIL_PHARMACY: frozenset({"41"}),
}
CONTRIBUTION_INSUTYPES = frozenset({"390", "410"})
REVERSIBLE_TYPES = frozenset({"settlement.requested", "contribution.requested"})
PURPOSE_OF_TYPE = {"settlement.requested": "settlement", "contribution.requested": "contribution"}
SETL_TIME_AHEAD = timedelta(hours=1)  # clocks differ a little; a settlement from the future does not exist


class Purpose(StrEnum):
    SETTLEMENT = "settlement"
    CONTRIBUTION = "contribution"


class State(StrEnum):
    DEBITING = "debiting"  # waiting for the wallet
    COMPLETED = "completed"
    REFUSED = "refused"
    CANCELLING = "cancelling"  # waiting for the wallet's refund
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Refusal:
    code: ReasonCode
    reason: str


@dataclass(frozen=True)
class SettlementAsk:
    fixmedins_code: str
    mdtrtarea_admvs: str
    med_type: str
    medfee_sumamt: Decimal
    fund_pay_sumamt: Decimal
    psn_part_amt: Decimal
    acct_used_flag: str
    use_wallet: bool


def check_settlement(ask: SettlementAsk, institution: Institution | None) -> Refusal | None:
    if ask.psn_part_amt != ask.medfee_sumamt - ask.fund_pay_sumamt:
        return Refusal(
            ReasonCode.INVALID_MESSAGE,
            f"psn_part_amt {ask.psn_part_amt} is not medfee_sumamt {ask.medfee_sumamt} - fund_pay_sumamt "
            f"{ask.fund_pay_sumamt}",
        )
    if ask.psn_part_amt < ZERO or ask.fund_pay_sumamt < ZERO:
        return Refusal(ReasonCode.INVALID_MESSAGE, "amounts are never negative")
    if institution is None:
        return Refusal(ReasonCode.UNKNOWN_INSTITUTION, f"{ask.fixmedins_code} is not a designated institution")
    if ask.mdtrtarea_admvs != institution.admdvs:
        return Refusal(
            ReasonCode.INVALID_MESSAGE,
            f"mdtrtarea_admvs {ask.mdtrtarea_admvs} is not the institution's region {institution.admdvs}",
        )
    if ask.med_type not in MED_TYPES_BY_INSTITUTION.get(institution.fixmedins_type, frozenset()):
        kind = "a retail pharmacy" if institution.fixmedins_type == RETAIL_PHARMACY else "a medical institution"
        return Refusal(ReasonCode.PURPOSE_NOT_ALLOWED, f"med_type {ask.med_type} is not settled at {kind}")
    if ask.use_wallet and not institution.wallet_enabled:
        return Refusal(ReasonCode.INSTITUTION_NOT_ENABLED, "the institution has not switched wallet payment on")
    return None


def check_contribution(insutype: str, amount: Decimal) -> Refusal | None:
    if insutype not in CONTRIBUTION_INSUTYPES:
        return Refusal(
            ReasonCode.PURPOSE_NOT_ALLOWED,
            "only resident (390) and long-term-care (410) personal contributions may be paid this way",
        )
    if amount <= ZERO:
        return Refusal(ReasonCode.AMOUNT_OUT_OF_RANGE, "a contribution is a positive amount")
    return None


def check_setl_time(setl_time: datetime, now: datetime) -> Refusal | None:
    if setl_time > now + SETL_TIME_AHEAD:
        return Refusal(ReasonCode.INVALID_MESSAGE, f"setl_time {setl_time.isoformat()} is in the future")
    return None


def business_month(at: datetime) -> str:
    return at.astimezone(SHANGHAI).strftime("%Y%m")


class UndoKind(StrEnum):
    CANCELLATION = "cancellation"  # settlement.cancel-requested, by the institution's province
    REVERSAL = "reversal"  # reversal.requested, by the original's sender


@dataclass(frozen=True)
class Portion:
    """What one source paid of a settlement (the wallet's split: a lot of quota, the own account, a provider's)."""

    seq: int
    source: str
    payer_psn_no: str
    lot_id: str | None
    funding_admdvs: str
    spending_admdvs: str
    amount: Decimal

    def event(self) -> events.SettlementPortion:
        return events.SettlementPortion(**{k: getattr(self, k) for k in events.SettlementPortion.model_fields})


@dataclass(frozen=True)
class Debited:
    """The wallet's answer when it took the money: what each source paid and the balances after."""

    acct_pay: Decimal
    acct_mulaid_pay: Decimal
    wallet_pay: Decimal
    balc: Decimal
    wallet_balc: Decimal
    portions: tuple[Portion, ...]


@dataclass(frozen=True)
class Reversal:
    """A reversal.requested, kept by the original's (sender, msgid): what it did."""

    otype: str
    reversal_msgid: str
    outcome: str  # original_blocked, original_undone or nothing_applied
    setl_id: str | None


class SettlementStateError(Exception):
    """A transition asked of a settlement in a state that does not allow it."""


@dataclass
class Settlement:
    """The paying saga's aggregate on the payment side (docs/adr/0010): a settlement (like 2207) or a
    contribution, from the request to its end.

      debiting --complete--> completed --request_cancellation / reversal--> cancelling --cancel--> cancelled
      debiting --refuse--> refused

    A reversal that arrives while the wallet is at work marks the settlement (undo_kind `reversal`) and is
    applied when the wallet answers. Every transition checks the state and returns the events it produces."""

    setl_id: str
    purpose: Purpose
    sender: str
    msgid: str
    psn_no: str
    payer_psn_no: str | None
    institution_admdvs: str | None
    psn_part_amt: Decimal
    acct_used_flag: str
    use_wallet: bool
    setl_time: datetime
    requested_at: datetime
    state: State = State.DEBITING
    mdtrt_id: str | None = None
    fixmedins_code: str | None = None
    med_type: str | None = None
    medfee_sumamt: Decimal | None = None
    fund_pay_sumamt: Decimal | None = None
    insutype: str | None = None
    year: int | None = None
    acct_pay: Decimal | None = None
    acct_mulaid_pay: Decimal | None = None
    wallet_pay: Decimal | None = None
    psn_cash_pay: Decimal | None = None
    balc: Decimal | None = None
    wallet_balc: Decimal | None = None
    refusal_code: str | None = None
    undo_kind: UndoKind | None = None
    undo_sender: str | None = None
    undo_msgid: str | None = None
    undo_requested_at: datetime | None = None
    completed_at: datetime | None = None
    cancelled_at: datetime | None = None
    new_portions: list[Portion] = field(default_factory=list, compare=False, repr=False)
    """What the wallet's answer split, not saved yet (the repository writes them with the state)."""

    def opened(self) -> events.PaymentOpened:
        """The request to the wallet (payment.payment-opened)."""
        return events.PaymentOpened(
            setl_id=self.setl_id,
            purpose=self.purpose.value,
            psn_no=self.psn_no,
            payer_psn_no=self.payer_psn_no,
            spending_admdvs=self.institution_admdvs,
            amount=self.psn_part_amt,
            use_wallet=self.use_wallet,
            acct_used_flag=self.acct_used_flag,
            sender=self.sender,
            occurred_at=self.requested_at,
        )

    @property
    def month(self) -> str:
        return business_month(self.setl_time)

    @property
    def is_settlement(self) -> bool:
        return self.purpose is Purpose.SETTLEMENT

    @property
    def reversal_waits(self) -> bool:
        """A reversal came while the wallet was at work: it is applied when the wallet answers."""
        return self.undo_kind is UndoKind.REVERSAL

    def complete(self, debited: Debited, now: datetime) -> events.PaymentCompleted:
        self._must_be(State.DEBITING, "completed")
        cash = self.psn_part_amt - debited.acct_pay - debited.wallet_pay
        self.state, self.completed_at = State.COMPLETED, now
        self.acct_pay, self.acct_mulaid_pay, self.wallet_pay = (
            debited.acct_pay,
            debited.acct_mulaid_pay,
            debited.wallet_pay,
        )
        self.psn_cash_pay, self.balc, self.wallet_balc = cash, debited.balc, debited.wallet_balc
        self.new_portions = list(debited.portions)
        return events.PaymentCompleted(
            setl_id=self.setl_id,
            purpose=self.purpose.value,
            psn_no=self.psn_no,
            fixmedins_code=self.fixmedins_code,
            month=self.month,
            psn_part_amt=self.psn_part_amt,
            acct_pay=debited.acct_pay,
            acct_mulaid_pay=debited.acct_mulaid_pay,
            wallet_pay=debited.wallet_pay,
            psn_cash_pay=cash,
            portions=[x.event() for x in debited.portions],
            occurred_at=now,
        )

    def refuse(self, code: ReasonCode) -> None:
        self._must_be(State.DEBITING, "refused")
        self.state, self.refusal_code = State.REFUSED, code.value

    def request_cancellation(self, sender: str, msgid: str, now: datetime) -> events.RefundRequested:
        """The institution's province cancels a completed settlement: the wallet is asked for the money back."""
        self._must_be(State.COMPLETED, "cancelled")
        self._undo(UndoKind.CANCELLATION, sender, msgid, now)
        return self.start_refund(now)

    def mark_reversal(self, sender: str, msgid: str, now: datetime) -> events.RefundRequested | None:
        """The original's sender reverses it: undone now when completed (the refund asked), or when the wallet
        answers while it is still debiting."""
        if self.state not in (State.DEBITING, State.COMPLETED):
            raise SettlementStateError(f"settlement {self.setl_id} cannot be reversed: it is {self.state.value}")
        self._undo(UndoKind.REVERSAL, sender, msgid, now)
        return self.start_refund(now) if self.state is State.COMPLETED else None

    def start_refund(self, now: datetime) -> events.RefundRequested:
        self._must_be(State.COMPLETED, "refunded")
        self.state = State.CANCELLING
        return events.RefundRequested(setl_id=self.setl_id, psn_no=self.psn_no, occurred_at=now)

    def cancel(self, portions: list[Portion], now: datetime) -> events.PaymentCancelled:
        """The wallet gave the money back."""
        self._must_be(State.CANCELLING, "cancelled")
        assert self.undo_kind is not None
        self.state, self.cancelled_at = State.CANCELLED, now
        return events.PaymentCancelled(
            setl_id=self.setl_id,
            purpose=self.purpose.value,
            psn_no=self.psn_no,
            how=self.undo_kind.value,
            month=self.month,
            portions=[x.event() for x in portions],
            occurred_at=now,
        )

    def _undo(self, kind: UndoKind, sender: str, msgid: str, now: datetime) -> None:
        self.undo_kind, self.undo_sender, self.undo_msgid, self.undo_requested_at = kind, sender, msgid, now

    def _must_be(self, state: State, what: str) -> None:
        if self.state is not state:
            raise SettlementStateError(f"settlement {self.setl_id} cannot be {what}: it is {self.state.value}")
