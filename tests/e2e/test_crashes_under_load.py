"""Crashes under load, with micro-batches on (issue 12): PostgreSQL restarted, the wallet SIGKILLed twice and the
Kafka broker restarted while transfer sagas are in flight. Every request gets exactly one answer, every transfer
completes, and the books balance.

The test runs `python -m tools.crash_run` (what `make crash` runs against the dev stack) on a whole stack of its
own, made by the project's scripts (deploy/local/infra.sh) on its own ports and state folder: it restarts the
servers, which the shared test stack must keep."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from tests.support.own_stack import own_stack, run

pytestmark = pytest.mark.e2e


@pytest.fixture
def stack() -> Iterator[dict[str, str]]:
    with own_stack("test-crash", port_offset=200, metrics_offset=60) as env:
        yield env


def test_restarts_and_sigkills_under_load_lose_nothing_and_the_books_balance(stack: dict[str, str]) -> None:
    proc = run([sys.executable, "-m", "tools.crash_run", "--families", "80"], stack, check=False)
    report = proc.stdout + proc.stderr[-3000:]
    assert proc.returncode == 0, report
    assert "80 transfers completed" in proc.stdout, report
    for crash in ("PostgreSQL stopped", "wallet SIGKILLed", "Kafka stopped", "Kafka started"):
        assert crash in proc.stdout, report
    assert "the books balance" in proc.stdout, report
