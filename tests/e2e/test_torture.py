"""The adversarial workload of issue 28 (`make torture`, tools/torture/) on a stack of its own, bounded: a run with
a fixed seed and all three faults, then a run with a seed it draws and prints. Each asserts what the tool checks:
every invariant, outside (answers, notifications, statements) and inside (the platform's books, sagas final, one
effect per msgid), holds. Nothing here is timed: the tool waits (bounded) for quiescence itself.

It restarts Kafka and PostgreSQL and SIGKILLs services, so it runs on a whole stack of its own (as
test_crashes_under_load.py does), on its own ports and state folder."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator

import pytest

from tests.support.own_stack import own_stack, run

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1200)]  # a bound for a hung run, not a timed assertion: a stack
# of its own starts first, and the tool waits (bounded) for every answer, the clock's moves and the sweeps

FIXED_SEED = 28


@pytest.fixture(scope="module")
def stack() -> Iterator[dict[str, str]]:
    with own_stack("test-torture", port_offset=500, metrics_offset=90) as env:
        yield env


def torture(stack: dict[str, str], *args: str) -> tuple[int, str]:
    proc = run([sys.executable, "-m", "tools.torture", "--settle", "240", *args], stack, check=False)
    return proc.returncode, proc.stdout + proc.stderr[-3000:]


def test_a_fixed_seed_with_every_fault_breaks_no_invariant(stack: dict[str, str]) -> None:
    code, report = torture(
        stack, "--duration", "75", "--seed", str(FIXED_SEED), "--families", "12", "--faults", "kill,broker,postgres"
    )
    assert report.startswith(f"torture: seed {FIXED_SEED}\n"), report
    assert "Invariants" in report, report
    assert "transfer.accepted" in report, report
    assert code == 0, report
    assert "OK: all" in report, report


def test_a_drawn_seed_breaks_no_invariant(stack: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    code, report = torture(stack, "--duration", "60", "--families", "10", "--faults", "kill")
    seed = re.match(r"torture: seed (\d+)\n", report)
    assert seed, report
    with capsys.disabled():  # printed even when the test passes: the seed plays the run again
        print(f"\ntorture: drawn seed {seed.group(1)} (python -m tools.torture --seed {seed.group(1)} plays it again)")
    assert code == 0, f"seed {seed.group(1)}:\n{report}"
    assert "OK: all" in report, report
