"""The envelope every message value is wrapped in (province interface v1)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from shared.contracts.topics import province_of

FIRST_YEAR, LAST_YEAR = 2000, 2099
"""The years a business date or time of an ingress message may lie in: far from the ends of Python's and
PostgreSQL's calendars, so a day or a time zone more (a statement's end, a conversion to UTC) never overflows."""
_LARGEST_OFFSET = timedelta(hours=14)

Admdvs = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]
"""6-digit region code (医保区划) on GB/T 2260."""


def _in_a_province(value: str) -> str:
    province_of(value)  # a code outside the 31 provinces (000000, 990000) names no fund and no province's topic
    return value


RegionCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$"), AfterValidator(_in_a_province)]
"""A region code a province names in a request's body: 6 ASCII digits in one of the 31 provinces."""
MsgId = Annotated[str, StringConstraints(pattern=r"^[\x21-\x7e]{1,30}$")]
"""1-30 printable ASCII characters (no spaces, no control characters): sender + time + sequence."""
PsnNo = Annotated[str, StringConstraints(min_length=1, max_length=30, pattern=r"^[0-9A-Za-z]+$")]
"""Personnel number (人员编号) in the national system."""
Period = Annotated[str, StringConstraints(pattern=r"^20[0-9]{2}(0[1-9]|1[0-2])$")]
"""A business month, YYYYMM, of 2000-2099."""


def _in_business_years(value: datetime) -> datetime:
    offset = value.utcoffset()
    if offset is None or abs(offset) > _LARGEST_OFFSET:
        raise ValueError("a time's UTC offset is at most 14 hours")
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"a time lies in the years {FIRST_YEAR}-{LAST_YEAR}")
    return value


def _text_or_time(value: Any) -> Any:
    if isinstance(value, (int, float)):  # pydantic would read a JSON number as seconds since 1970
        raise ValueError("a time is an ISO 8601 string with its UTC offset, never a number")
    return value


WireTime = Annotated[AwareDatetime, BeforeValidator(_text_or_time), AfterValidator(_in_business_years)]
"""An ISO 8601 time with its UTC offset (at most 14 hours), in the years 2000-2099."""

BodyT = TypeVar("BodyT", bound=BaseModel)


class Envelope(BaseModel, Generic[BodyT]):
    """`{"msgid", "type", "sender", "sent_at", "body"}`; (`sender`, `msgid`) is the idempotency key."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    msgid: MsgId = Field(description="1-30 chars, unique per sender; the idempotency key")
    type: str = Field(description="message type, e.g. transfer.requested")
    sender: Admdvs = Field(description="region code of the sending system; 000000 for the platform")
    sent_at: WireTime = Field(description="ISO 8601 with offset")
    body: BodyT


class RawEnvelope(BaseModel):
    """The envelope with its body not yet parsed: what the consumer kernel reads first."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    msgid: MsgId
    type: str
    sender: Admdvs
    sent_at: WireTime
    body: dict[str, Any]


def wire_time(dt: datetime) -> str:
    """ISO 8601 with offset and second precision, as the provinces send it."""
    return dt.isoformat(timespec="seconds")
