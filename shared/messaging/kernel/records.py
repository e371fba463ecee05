"""What the stages pass along: a Kafka record, what classification made of it, and how it ended; and which
errors are the infrastructure's (retried without limit) rather than the message's (counted towards its dead
letter)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

import asyncpg
from pydantic import ValidationError

from shared.contracts.envelope import Envelope
from shared.contracts.reasons import ReasonCode
from shared.messaging.hostile import clean_text
from shared.signing import Verdict


class ConsumerRecord(Protocol):
    """What the kernel needs of a Kafka record (aiokafka's ConsumerRecord has it)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp: int


class Outcome(StrEnum):
    PROCESSED = "processed"
    REPEAT = "repeat"
    REDELIVERED = "redelivered"
    NOT_MINE = "not_mine"
    DEAD_LETTERED = "dead_lettered"


@dataclass
class Parsed:
    """A record fit to handle: its envelope, with the body typed by its message type."""

    envelope: Envelope[Any]


@dataclass
class Invalid:
    """A record refused for what it is, with what could safely be read of its identity."""

    reason: str
    sender: str | None = None
    msgid: str | None = None
    type: str | None = None
    code: ReasonCode = ReasonCode.INVALID_MESSAGE
    unsigned: Verdict | None = None
    """Not signed by its claimed sender (docs/signing.md): nobody wrote it that the platform knows, so it is answered
    to no province (ADR 0023), only dead-lettered as a digest; a late copy of an answered msgid is answered again."""

    @property
    def authenticated(self) -> bool:
        """Its writer is known: its claimed sender signed it (judged on its content alone). Otherwise it is
        dead-lettered as a bounded digest, whoever wrote it (ADR 0023)."""
        return self.unsigned is None and self.sender is not None


Classified = Parsed | Invalid | None
"""None: another service answers the record (or, on an event stream, this service does not need it)."""


class RecordFailedError(Exception):
    """A record of a batch failed for a reason of its own; the batch's transaction was rolled back."""

    def __init__(self, index: int, error: Exception) -> None:
        super().__init__(f"record {index} of the batch failed: {error!r}")
        self.index = index
        self.error = error


_TRANSIENT_SQLSTATE_CLASSES = ("08", "40", "53", "57", "58")
_NOT_TRANSIENT_SQLSTATES = ("57014",)  # query_canceled (a statement timeout): the message's work, not the server


def is_transient(exc: BaseException) -> bool:
    """Errors of the infrastructure, not of the message: retry without limit, never dead-letter."""
    if isinstance(exc, asyncpg.exceptions.InvalidCachedStatementError):
        return True  # a migration changed a table under a prepared statement: the retry re-prepares
    if isinstance(exc, asyncpg.PostgresError):
        state = getattr(exc, "sqlstate", "") or ""
        return state[:2] in _TRANSIENT_SQLSTATE_CLASSES and state not in _NOT_TRANSIENT_SQLSTATES
    if isinstance(exc, asyncpg.exceptions._base.DataError):  # client-side: a bad argument, the message's fault
        return False
    return isinstance(
        exc,
        (
            OSError,
            ConnectionError,
            TimeoutError,
            asyncpg.InterfaceError,
            asyncpg.exceptions.ConnectionDoesNotExistError,
        ),
    )


def text_headers(record: ConsumerRecord) -> dict[str, str]:
    """A record's headers as text; a value that is not UTF-8 is left out (it cannot be a signature header)."""
    out: dict[str, str] = {}
    for name, value in getattr(record, "headers", None) or ():
        try:
            out[str(name)] = (value or b"").decode("utf-8")
        except (UnicodeDecodeError, AttributeError):
            continue
    return out


def safe_key(key: bytes | None) -> str | None:
    """A record key fit to store and echo: decoded, ID numbers masked, bounded."""
    if not key or len(key) > 200:
        return None
    return clean_text(key.decode("utf-8", errors="replace"), 200)


def describe(exc: Exception) -> str:
    """Why a value was refused, fit to echo: the fields and messages of a validation error, never their input."""
    if isinstance(exc, ValidationError):
        parts = []
        for err in exc.errors(include_url=False, include_input=False):
            loc = ".".join(str(p) for p in err["loc"])
            parts.append(f"{loc}: {err['msg']}")
        return clean_text("; ".join(parts), 2000)
    return clean_text(str(exc), 2000)
