"""Settlements (like 2207) and contributions: what the payment service checks before any money moves. Pure.

Institution type and medical type: a designated medical institution (type 1) settles outpatient (11, 14)
and inpatient (2101) care; a retail pharmacy (type 2) settles pharmacy purchases (41). Anything else is
PURPOSE_NOT_ALLOWED: quota and bound accounts pay only for these (RULES.md section 4).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo

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
