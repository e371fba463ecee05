"""Crashes under load, with micro-batches on (issue 12): PostgreSQL restarted, the wallet SIGKILLed twice and the
Kafka broker restarted while transfer sagas are in flight. Every request gets exactly one answer, every transfer
completes, and the books balance.

The test runs `python -m tools.crash_run` (what `make crash` runs against the dev stack) on a whole stack of its
own, made by the project's scripts (deploy/local/infra.sh) on its own ports and state folder: it restarts the
servers, which the shared test stack must keep."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.support.infra import (
    REPO,
    TEST_KAFKA_PORT,
    TEST_METRICS_PORT_BASE,
    TEST_PG_PORT,
    TEST_STATE_DIR,
    local_script_env,
)

pytestmark = pytest.mark.e2e

STATE_DIR = TEST_STATE_DIR.parent / "test-crash"
KAFKA_PORT, PG_PORT = TEST_KAFKA_PORT + 200, TEST_PG_PORT + 200
LOCAL = REPO / "deploy" / "local"


def run(args: list[str], env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(args, env=env, capture_output=True, text=True, check=False, cwd=REPO)
    assert proc.returncode == 0 or not check, f"{args}: {proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture
def stack() -> Iterator[dict[str, str]]:
    given = ("MEDAID_KAFKA_", "MEDAID_PG_", "MEDAID_CLOCK_OFFSET", "MEDAID_STATE_DIR")
    files = ("MEDAID_SECRETS_FILE", "MEDAID_SIGNING_KEYS_FILE", "MEDAID_PLATFORM_SIGNING_KEY_FILE")
    env = {k: v for k, v in local_script_env().items() if not k.startswith(given) and k not in files}
    env.pop("MEDAID_KEY_REGISTRY_FILE", None)
    env.update(
        {
            "MEDAID_STATE_DIR": str(STATE_DIR),  # every secret, key and the clock in this stack's own folder
            "KAFKA_PORT": str(KAFKA_PORT),
            "PG_PORT": str(PG_PORT),
            "MEDAID_PG_ADMIN_PASSWORD": "medaid-admin",
            "MEDAID_KAFKA_BOOTSTRAP": f"127.0.0.1:{KAFKA_PORT}",
            "MEDAID_PG_HOST": "127.0.0.1",
            "MEDAID_PG_PORT": str(PG_PORT),
            "MEDAID_PG_DATABASE": "medaid",
            "MEDAID_LOG_FORMAT": "json",
            "MEDAID_OUTBOX_POLL_SECONDS": "0.2",
            "MEDAID_METRICS_PORT_BASE": str(TEST_METRICS_PORT_BASE + 60),
        }
    )
    infra = str(LOCAL / "infra.sh")
    run([infra, "wipe"], env, check=False)
    shutil.rmtree(STATE_DIR, ignore_errors=True)
    try:
        run([infra, "up"], env)
        run([str(LOCAL / "services.sh"), "start"], env)
        run([sys.executable, "-m", "tools.clock", "daytime"], env)  # transfers need business daytime
        yield env
    finally:
        run([str(LOCAL / "services.sh"), "stop"], env, check=False)
        if os.environ.get("MEDAID_TEST_KEEP_INFRA") == "1":
            run([infra, "down"], env, check=False)
        else:
            run([infra, "wipe"], env, check=False)
            shutil.rmtree(STATE_DIR, ignore_errors=True)


def test_restarts_and_sigkills_under_load_lose_nothing_and_the_books_balance(stack: dict[str, str]) -> None:
    proc = run([sys.executable, "-m", "tools.crash_run", "--families", "80"], stack, check=False)
    report = proc.stdout + proc.stderr[-3000:]
    assert proc.returncode == 0, report
    assert "80 transfers completed" in proc.stdout, report
    for crash in ("PostgreSQL stopped", "wallet SIGKILLed", "Kafka stopped", "Kafka started"):
        assert crash in proc.stdout, report
    assert "the books balance" in proc.stdout, report
