"""Moving quota from a provider's personal account into a relative's wallet: the rules. Pure.

National rules (RULES.md section 3), the defaults of the regional policy (shared/contracts/policy.py):
at most 3 transfers per sender per business day, at most 2,000.00 each (a 1.00 minimum is [inferred]).
Then: none between 22:00 and 06:00, identity verified, the recipient's wallet opened, both regions
switched on, accepted by the recipient or returned by 06:00 the next day, one waiting transfer per
sender and recipient.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum

from shared.contracts.policy import RegionalPolicy
from shared.contracts.reasons import ReasonCode

QUIET_FROM = time(22, 0)
QUIET_UNTIL = time(6, 0)
RETURN_AT = time(6, 0)


class State(StrEnum):
    PENDING = "pending"
    COMPLETED = "completed"
    RETURNED = "returned"


class ReturnReason(StrEnum):
    DECLINED = "declined"
    EXPIRED = "expired"
    RELATIONSHIP_ENDED = "relationship_ended"
    FROZEN = "frozen"


@dataclass(frozen=True)
class Party:
    psn_no: str
    certno_hash: str
    name_hash: str
    insuplc_admdvs: str
    may_provide: bool
    may_receive: bool


@dataclass(frozen=True)
class TransferRequest:
    from_psn_no: str
    to_psn_no: str
    to_certno_hash: str
    to_name_hash: str
    amount: Decimal
    verified: bool


@dataclass(frozen=True)
class Situation:
    """What the wallet service knows when it decides."""

    sender: Party | None
    recipient: Party | None
    relationship_id: str | None
    sender_region_enabled: bool
    recipient_wallet_region: str | None  # None: no wallet opened
    recipient_region_enabled: bool
    pending_to_recipient: bool
    sent_today: int
    available: Decimal
    sender_frozen: bool = False  # a frozen person's personal account sends no transfers
    recipient_frozen: bool = False  # a frozen wallet receives none


@dataclass(frozen=True)
class Refusal:
    code: ReasonCode
    reason: str


def in_quiet_hours(now: datetime) -> bool:
    t = now.time()
    return t >= QUIET_FROM or t < QUIET_UNTIL


def business_day(now: datetime) -> str:
    return now.strftime("%Y%m%d")


def return_deadline(requested_at: datetime) -> datetime:
    """06:00 business time on the day after the request."""
    next_day = (requested_at + timedelta(days=1)).date()
    return datetime.combine(next_day, RETURN_AT, tzinfo=requested_at.tzinfo)


def check_request(req: TransferRequest, now: datetime, policy: RegionalPolicy) -> Refusal | None:
    """What can be decided from the request and the sender's region's policy."""
    if not req.verified:
        return Refusal(ReasonCode.VERIFICATION_FAILED, "the sender's identity was not verified (face or password)")
    low, high = policy.transfer_min_amount, policy.transfer_max_amount
    if not low <= req.amount <= high:
        return Refusal(ReasonCode.AMOUNT_OUT_OF_RANGE, f"a transfer moves {low} to {high} yuan")
    if in_quiet_hours(now):
        return Refusal(ReasonCode.QUIET_HOURS, "no transfers between 22:00 and 06:00 (Asia/Shanghai)")
    return None


def check_situation(req: TransferRequest, s: Situation, policy: RegionalPolicy) -> Refusal | None:
    """The rest, in a fixed order: the first that fails answers."""
    if s.sender is None or s.recipient is None:
        return Refusal(ReasonCode.UNKNOWN_PERSON, "the sender or the recipient is not enrolled on the platform")
    if s.relationship_id is None:
        return Refusal(ReasonCode.NO_RELATIONSHIP, "no established relationship from the sender to the recipient")
    if not s.sender.may_provide:
        return Refusal(ReasonCode.NOT_ELIGIBLE_PROVIDER, "the sender can no longer provide")
    if not s.recipient.may_receive:
        return Refusal(ReasonCode.NOT_ELIGIBLE_RECIPIENT, "the recipient can no longer receive")
    if s.recipient.certno_hash != req.to_certno_hash or s.recipient.name_hash != req.to_name_hash:
        return Refusal(ReasonCode.IDENTITY_MISMATCH, "the recipient's certificate number or name does not match")
    if s.recipient_wallet_region is None:
        return Refusal(ReasonCode.WALLET_NOT_OPENED, "the recipient has not opened a wallet")
    if s.sender_frozen:
        return Refusal(ReasonCode.WALLET_FROZEN, "the sender is frozen: their personal account sends no transfers")
    if s.recipient_frozen:
        return Refusal(ReasonCode.WALLET_FROZEN, "the recipient's wallet is frozen: it receives no transfers")
    if not (s.sender_region_enabled and s.recipient_region_enabled):
        return Refusal(ReasonCode.REGION_NOT_ENABLED, "the sender's or the recipient's region has no wallet function")
    if s.pending_to_recipient:
        return Refusal(ReasonCode.PENDING_TRANSFER_EXISTS, "a transfer to this recipient is still waiting")
    if s.sent_today >= policy.transfers_per_day:
        return Refusal(ReasonCode.DAILY_LIMIT_REACHED, f"at most {policy.transfers_per_day} transfers per day")
    if s.available < req.amount:
        return Refusal(ReasonCode.INSUFFICIENT_BALANCE, "the personal account's balance is not enough")
    return None
