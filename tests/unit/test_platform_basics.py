import io
import json
import sys
from datetime import datetime

import structlog

from shared.clock import BUSINESS_TZ, BusinessClock
from shared.logging import configure_logging, get_logger
from shared.messaging.outbox import platform_msgid


def test_platform_msgids_are_30_chars_and_carry_the_service() -> None:
    at = datetime(2026, 11, 22, 10, 30, 16, tzinfo=BUSINESS_TZ)
    assert platform_msgid("wallet", 42, at) == "000000202611221030161000000042"
    assert len(platform_msgid("clearing", 10**12 + 7, at)) == 30


def test_the_business_clock_can_start_at_any_hour() -> None:
    clock = BusinessClock(start=datetime(2026, 11, 23, 23, 30, tzinfo=BUSINESS_TZ))
    now = clock.now()
    assert (now.hour, now.minute) == (23, 30)
    assert clock.today() == "20261123"
    offset = now.utcoffset()
    assert offset is not None
    assert offset.total_seconds() == 8 * 3600


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
