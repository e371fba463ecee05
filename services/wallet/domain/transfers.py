"""Moving quota from a provider's personal account into a relative's wallet: the rules. Pure.

National rules (RULES.md section 3), the defaults of the regional policy (shared/contracts/policy.py):
at most 3 transfers per sender per business day, at most 2,000.00 each (a 1.00 minimum is [inferred]).
Then: none between 22:00 and 06:00, identity verified, the recipient's wallet opened, both regions
switched on, accepted by the recipient or returned by 06:00 the next day, one waiting transfer per
sender and recipient.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum

from services.wallet.domain import events
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
class RelationshipCopy:
    """The wallet's copy of a relationship (relationship.events.v1): who provides for whom, each's insured region,
    and the relationship service's version of it (None: an event from before versions, ADR 0012)."""

    relationship_id: str
    provider_psn_no: str
    recipient_psn_no: str
    provider_admdvs: str
    recipient_admdvs: str
    version: int | None = None


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
class TransferFacts:
    """What the wallet's copies say about a sender and a recipient, read in one go (besides the people and the
    sender's balance): the recipient's wallet region, their established relationship, both regions' switches,
    a transfer already waiting between them, the sender's transfers of the business day, and both freezes."""

    wallet_region: str | None
    relationship_id: str | None
    sender_region_enabled: bool
    recipient_region_enabled: bool
    pending_to: bool
    sent_today: int
    sender_frozen: bool
    recipient_frozen: bool


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


@dataclass(frozen=True)
class Lot:
    """Quota in a wallet from one provider (the transfer that made it is its id), and what is left of it."""

    lot_id: str
    wallet_psn_no: str
    provider_psn_no: str
    remaining: Decimal
    funding_admdvs: str


class TransferNotPendingError(Exception):
    """A transition asked of a transfer that is no longer waiting (completed and returned are final)."""


def hold_id_for(transfer_id: str) -> uuid.UUID:
    """The ledger's pending transfer that reserves a quota transfer's amount."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"medaid:transfer-hold:{transfer_id}")


@dataclass
class QuotaTransfer:
    """The transfer saga's aggregate (docs/adr/0009): requested (the amount held on the provider's personal
    account), then exactly one of accepted (completed: the hold posted into a lot) or returned (declined, expired,
    relationship ended, frozen: the hold voided). Completed and returned are final: every transition checks that
    the transfer is still pending, and returns the event it produces. `new_steps` are the timeline's lines not
    saved yet (the repository writes them with the state)."""

    transfer_id: str
    from_psn_no: str
    to_psn_no: str
    relationship_id: str
    amount: Decimal
    from_admdvs: str
    to_admdvs: str
    requested_at: datetime
    deadline: datetime
    state: State = State.PENDING
    return_reason: ReturnReason | None = None
    resolved_at: datetime | None = None
    new_steps: list[tuple[str, str | None]] = field(default_factory=list, compare=False, repr=False)

    @classmethod
    def request(
        cls,
        transfer_id: str,
        req: TransferRequest,
        sender: Party,
        recipient: Party,
        relationship_id: str,
        now: datetime,
    ) -> tuple[QuotaTransfer, events.QuotaHeld]:
        """A transfer the rules allowed (check_request and check_situation said nothing): waiting until 06:00."""
        transfer = cls(
            transfer_id=transfer_id,
            from_psn_no=req.from_psn_no,
            to_psn_no=req.to_psn_no,
            relationship_id=relationship_id,
            amount=req.amount,
            from_admdvs=sender.insuplc_admdvs,
            to_admdvs=recipient.insuplc_admdvs,
            requested_at=now,
            deadline=return_deadline(now),
        )
        held = events.QuotaHeld(
            transfer_id=transfer_id,
            from_psn_no=transfer.from_psn_no,
            to_psn_no=transfer.to_psn_no,
            relationship_id=relationship_id,
            amount=transfer.amount,
            deadline=transfer.deadline,
            occurred_at=now,
        )
        return transfer, held

    @property
    def hold_id(self) -> uuid.UUID:
        return hold_id_for(self.transfer_id)

    @property
    def business_day(self) -> str:
        return business_day(self.requested_at)

    @property
    def pending(self) -> bool:
        return self.state is State.PENDING

    def overdue(self, now: datetime) -> bool:
        """Past 06:00 the day after the request: it goes back (if it is still waiting)."""
        return self.deadline <= now

    def accept(self, now: datetime, funding_admdvs: str) -> events.QuotaGranted:
        """The lot is funded by the fund the provider's personal account belongs to when the hold is posted: the
        provider's region when the transfer was asked, unless the provider moved since (ADR 0021)."""
        self._must_be_pending("accepted")
        self.state, self.resolved_at = State.COMPLETED, now
        self.new_steps.append(("completed", f"lot {self.transfer_id} of {self.amount} in wallet:{self.to_psn_no}"))
        return events.QuotaGranted(
            transfer_id=self.transfer_id,
            from_psn_no=self.from_psn_no,
            to_psn_no=self.to_psn_no,
            funding_admdvs=funding_admdvs,
            amount=self.amount,
            occurred_at=now,
        )

    def give_back(self, reason: ReturnReason, now: datetime) -> events.QuotaReleased:
        self._must_be_pending(f"returned ({reason.value})")
        self.state, self.return_reason, self.resolved_at = State.RETURNED, reason, now
        self.new_steps.append(("returned", reason.value))
        return events.QuotaReleased(
            transfer_id=self.transfer_id,
            from_psn_no=self.from_psn_no,
            to_psn_no=self.to_psn_no,
            amount=self.amount,
            reason=reason.value,
            occurred_at=now,
        )

    def _must_be_pending(self, what: str) -> None:
        if self.state is not State.PENDING:
            raise TransferNotPendingError(f"transfer {self.transfer_id} cannot be {what}: it is {self.state.value}")
