"""A whole stack of a test's own (Kafka, PostgreSQL, the four services, made by deploy/local/infra.sh and
services.sh), on its own ports and state folder: for tests that restart the servers, which the shared test stack
must keep (tests/e2e/test_crashes_under_load.py, tests/e2e/test_torture.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from tests.support.infra import (
    REPO,
    TEST_KAFKA_PORT,
    TEST_METRICS_PORT_BASE,
    TEST_PG_PORT,
    TEST_STATE_DIR,
    local_script_env,
)

LOCAL = REPO / "deploy" / "local"


def run(args: list[str], env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(args, env=env, capture_output=True, text=True, check=False, cwd=REPO)
    assert proc.returncode == 0 or not check, f"{args}: {proc.stdout}\n{proc.stderr}"
    return proc


@contextmanager
def own_stack(name: str, port_offset: int, metrics_offset: int) -> Iterator[dict[str, str]]:
    """The environment of a fresh stack in .run/<name>, Kafka on the test port + `port_offset` (and its controller
    one above), PostgreSQL on the test port + `port_offset`, metrics on the test base + `metrics_offset` + 1..4;
    in business daytime. Wiped afterwards (MEDAID_TEST_KEEP_INFRA=1: only stopped)."""
    state_dir = TEST_STATE_DIR.parent / name
    kafka_port, pg_port = TEST_KAFKA_PORT + port_offset, TEST_PG_PORT + port_offset
    given = ("MEDAID_KAFKA_", "MEDAID_PG_", "MEDAID_CLOCK_OFFSET", "MEDAID_STATE_DIR")
    files = ("MEDAID_SECRETS_FILE", "MEDAID_SIGNING_KEYS_FILE", "MEDAID_PLATFORM_SIGNING_KEY_FILE")
    env = {k: v for k, v in local_script_env().items() if not k.startswith(given) and k not in files}
    env.pop("MEDAID_KEY_REGISTRY_FILE", None)
    env.pop("KAFKA_CONTROLLER_PORT", None)  # one above this stack's Kafka port
    env.update(
        {
            "MEDAID_STATE_DIR": str(state_dir),  # every secret, key and the clock in this stack's own folder
            "KAFKA_PORT": str(kafka_port),
            "PG_PORT": str(pg_port),
            "MEDAID_PG_ADMIN_PASSWORD": "medaid-admin",
            "MEDAID_KAFKA_BOOTSTRAP": f"127.0.0.1:{kafka_port}",
            "MEDAID_PG_HOST": "127.0.0.1",
            "MEDAID_PG_PORT": str(pg_port),
            "MEDAID_PG_DATABASE": "medaid",
            "MEDAID_LOG_FORMAT": "json",
            "MEDAID_OUTBOX_POLL_SECONDS": "0.2",
            "MEDAID_METRICS_PORT_BASE": str(TEST_METRICS_PORT_BASE + metrics_offset),
        }
    )
    infra = str(LOCAL / "infra.sh")
    run([infra, "wipe"], env, check=False)
    shutil.rmtree(state_dir, ignore_errors=True)
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
            shutil.rmtree(state_dir, ignore_errors=True)
