"""Rejection reason codes. The province interface's codes are binding; the platform adds codes, never reuses one."""

from __future__ import annotations

from enum import StrEnum


class ReasonCode(StrEnum):
    # Province interface v1
    INVALID_MESSAGE = "INVALID_MESSAGE"
    UNKNOWN_PERSON = "UNKNOWN_PERSON"
    NOT_ELIGIBLE_PROVIDER = "NOT_ELIGIBLE_PROVIDER"
    NOT_ELIGIBLE_RECIPIENT = "NOT_ELIGIBLE_RECIPIENT"
    NOT_CLOSE_RELATIVE = "NOT_CLOSE_RELATIVE"
    IDENTITY_MISMATCH = "IDENTITY_MISMATCH"
    POLICY_LIMIT = "POLICY_LIMIT"
    NO_RELATIONSHIP = "NO_RELATIONSHIP"
    REGION_NOT_ENABLED = "REGION_NOT_ENABLED"
    WALLET_NOT_OPENED = "WALLET_NOT_OPENED"
    VERIFICATION_FAILED = "VERIFICATION_FAILED"
    AMOUNT_OUT_OF_RANGE = "AMOUNT_OUT_OF_RANGE"
    DAILY_LIMIT_REACHED = "DAILY_LIMIT_REACHED"
    QUIET_HOURS = "QUIET_HOURS"
    PENDING_TRANSFER_EXISTS = "PENDING_TRANSFER_EXISTS"
    INSUFFICIENT_BALANCE = "INSUFFICIENT_BALANCE"
    INSTITUTION_NOT_ENABLED = "INSTITUTION_NOT_ENABLED"
    OUTSIDE_INSURED_REGION = "OUTSIDE_INSURED_REGION"
    PURPOSE_NOT_ALLOWED = "PURPOSE_NOT_ALLOWED"
    UNKNOWN_SETTLEMENT = "UNKNOWN_SETTLEMENT"
    ALREADY_CANCELLED = "ALREADY_CANCELLED"
    PERIOD_CLOSED = "PERIOD_CLOSED"
    UNKNOWN_REQUEST = "UNKNOWN_REQUEST"
    # Province interface v1.1
    WALLET_FROZEN = "WALLET_FROZEN"
    """A transfer request, an accept or a payment that a freeze stops (wallet.freeze-requested)."""
    # Added by the platform
    PROCESSING_FAILED = "PROCESSING_FAILED"
    """The message was valid but could not be processed after retries; it is in the DLQ for operators."""
    NOT_SUPPORTED_YET = "NOT_SUPPORTED_YET"
    """The type is part of the interface but this platform release does not process it yet."""
    WRONG_TOPIC = "WRONG_TOPIC"
    """A known type published on a topic that does not carry it."""
    RELATIONSHIP_EXISTS = "RELATIONSHIP_EXISTS"
    """The two people already have an active (pending or established) relationship."""
    NOT_A_PARTY = "NOT_A_PARTY"
    """The person asking to confirm or end a relationship is not the party who may."""
    TRANSFER_NOT_PENDING = "TRANSFER_NOT_PENDING"
    """The transfer no longer waits for the recipient (completed, returned or past its deadline)."""
    UNKNOWN_INSTITUTION = "UNKNOWN_INSTITUTION"
    """The fixmedins_code is not a designated institution known to the platform (institution.upserted)."""
    NOT_REVERSIBLE = "NOT_REVERSIBLE"
    """A reversal names a type the platform does not reverse (only settlement.requested and contribution.requested)."""
    REVERSED = "REVERSED"
    """The request was reversed (reversal.requested) before it arrived; it is refused and has no effect."""
    PERIOD_NOT_ENDED = "PERIOD_NOT_ENDED"
    """A clearing month can be closed only after it ended (Asia/Shanghai business time)."""
    UNKNOWN_STATEMENT = "UNKNOWN_STATEMENT"
    """No clearing statement has this statement_id for this region."""
    MSGID_REUSED = "MSGID_REUSED"
    """The sender already used this msgid for a message another service answered: a msgid is unique per sender
    platform-wide (ADR 0013). Nothing was done; resend with a new msgid."""
    SENDER_NOT_ALLOWED = "SENDER_NOT_ALLOWED"
    """The sender may not send this for this party (README, "Who may send what"): for example a region's wallet
    status or an institution of another province. Nothing was done."""
    EFFECTIVE_AT_OUT_OF_RANGE = "EFFECTIVE_AT_OUT_OF_RANGE"
    """An enrollment.changed takes effect further ahead of business time than the platform accepts
    (MEDAID_ENROLMENT_MAX_DAYS_AHEAD, 31 days): it would make every later correct change look late."""
    SIGNATURE_INVALID = "SIGNATURE_INVALID"
    """The record is not signed as docs/signing.md says by a registered key of its `sender` (unsigned, unknown or
    foreign key, bad signature, or `sent_at` outside the replay window). Nothing was done and nothing was stored:
    the same msgid, signed correctly, is still judged. Sent to the claimed sender's province."""
    CONTRIBUTION_OVER_STANDARD = "CONTRIBUTION_OVER_STANDARD"
    """A contribution.requested is above the yearly personal contribution standard of its kind for the insured
    person's region (else province, else national; `make settlements ARGS="standards show ..."`), or no standard
    exists for that year. Nothing was taken (docs/adr/0022)."""
    CONTRIBUTION_ALREADY_PAID = "CONTRIBUTION_ALREADY_PAID"
    """The insured person already has a contribution of this kind for this year, completed or still under way.
    One is paid a year; a refused or reversed one frees the year again. Nothing was taken (docs/adr/0022)."""
