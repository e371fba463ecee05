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
