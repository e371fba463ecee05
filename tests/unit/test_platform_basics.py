import io
import json
import sys
from datetime import datetime, timedelta

import pytest
import structlog

from shared.clock import BUSINESS_TZ, BusinessClock, offset_for, real_now
from shared.logging import configure_logging, get_logger
from shared.messaging.outbox import platform_msgid
from tools.clock import next_daytime


def test_platform_msgids_are_30_chars_and_carry_the_service() -> None:
    at = datetime(2026, 11, 22, 10, 30, 16, tzinfo=BUSINESS_TZ)
    assert platform_msgid("wallet", 42, at) == "000000202611221030161000000042"
    assert len(platform_msgid("clearing", 10**12 + 7, at)) == 30


def test_the_business_clock_is_real_time_plus_one_fixed_offset() -> None:
    wanted = datetime(2026, 11, 23, 23, 30, tzinfo=BUSINESS_TZ)
    clock = BusinessClock(offset_for(wanted))
    now = clock.now()
    assert (now.hour, now.minute) == (23, 30)
    assert clock.today() == "20261123"
    offset = now.utcoffset()
    assert offset is not None
    assert offset.total_seconds() == 8 * 3600
    again = BusinessClock(clock.offset_seconds)  # a restart keeps the offset: its time does not go back
    assert again.now() >= now
    assert abs(BusinessClock().now() - real_now()) < timedelta(seconds=1), "no offset: real time"
    with pytest.raises(ValueError, match="UTC offset"):
        offset_for(datetime(2026, 11, 23, 23, 30))


def test_daytime_is_the_next_ten_oclock_outside_six_to_nine() -> None:
    def at(day: int, hour: int, minute: int = 0) -> datetime:
        return datetime(2028, 2, day, hour, minute, tzinfo=BUSINESS_TZ)

    assert next_daytime(at(29, 6)) is None
    assert next_daytime(at(29, 20, 59)) is None
    assert next_daytime(at(29, 5, 59)) == at(29, 10)
    assert next_daytime(at(29, 21)) == datetime(2028, 3, 1, 10, 0, tzinfo=BUSINESS_TZ), "over a leap day"
    assert next_daytime(datetime(2026, 12, 31, 23, 59, 30, tzinfo=BUSINESS_TZ)) == datetime(
        2027, 1, 1, 10, 0, tzinfo=BUSINESS_TZ
    )


def test_log_lines_are_json_with_service_and_no_certno_in_clear(monkeypatch: object) -> None:
    buffer = io.StringIO()
    configure_logging("wallet", "json")
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(file=buffer))
    with structlog.contextvars.bound_contextvars(msgid="m1", correlation_id="c1"):
        get_logger().info("transfer_seen", note="to 610102195503031234")
    line = json.loads(buffer.getvalue())
    assert line["service"] == "wallet"
    assert line["msgid"] == "m1"
    assert line["correlation_id"] == "c1"
    assert "610102195503031234" not in line["note"]
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(file=sys.stderr))
