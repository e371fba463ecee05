"""A removed setting stops a service at start with what to use instead (ADR 0011: MEDAID_CLOCK_START), whether it
is started by deploy/local/services.sh (which refuses it first) or directly, as docker-compose does."""

from __future__ import annotations

import pytest

from shared.settings import refuse_gone_settings


def test_a_service_given_the_old_clock_start_refuses_to_start_and_names_the_offset_instead() -> None:
    with pytest.raises(RuntimeError, match=r"MEDAID_CLOCK_START is gone: .*MEDAID_CLOCK_OFFSET_SECONDS"):
        refuse_gone_settings({"MEDAID_CLOCK_START": "2026-11-01T10:00:00+08:00"})
    refuse_gone_settings({"MEDAID_CLOCK_OFFSET_SECONDS": "3600"})
