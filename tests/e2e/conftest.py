"""The four services as real processes (deploy/local/services.sh) on the test infrastructure."""

from __future__ import annotations

import os
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from shared.settings import PlatformSettings
from tests.conftest import new_database
from tests.e2e.families import ALL_OUTPUT, Payments, Provinces, Wallets
from tests.support.infra import REPO, SERVICE_PASSWORD, TEST_STATE_DIR, Infra
from tests.support.kafka import Publisher, Watcher

SCRIPT = str(REPO / "deploy" / "local" / "services.sh")
DAYTIME = "2026-11-23T10:00:00+08:00"
"""The business time the e2e services start at: outside quiet hours whenever CI runs."""


@dataclass
class Platform:
    settings: PlatformSettings
    env: dict[str, str]

    def services(self, action: str, *names: str, **extra_env: str) -> None:
        proc = subprocess.run(
            [SCRIPT, action, *names], env={**self.env, **extra_env}, capture_output=True, text=True, check=False
        )
        assert proc.returncode == 0, f"services.sh {action} {names}: {proc.stderr}"

    def log(self, service: str) -> str:
        return (TEST_STATE_DIR / "logs" / f"{service}.log").read_text(errors="replace")


@pytest.fixture(scope="session")
async def platform(infra: Infra, topics: None) -> AsyncIterator[Platform]:
    settings = await new_database(infra, "e2e")
    env = {
        **os.environ,
        "MEDAID_STATE_DIR": str(TEST_STATE_DIR),
        "MEDAID_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "MEDAID_PG_HOST": settings.pg_host,
        "MEDAID_PG_PORT": str(settings.pg_port),
        "MEDAID_PG_DATABASE": settings.pg_database,
        "MEDAID_PG_PASSWORD": SERVICE_PASSWORD,
        "MEDAID_LOG_FORMAT": "json",
        "MEDAID_OUTBOX_POLL_SECONDS": "0.2",
        "MEDAID_SWEEP_SECONDS": "0.5",
        "MEDAID_CLOCK_START": DAYTIME,
    }
    (TEST_STATE_DIR / "logs").mkdir(parents=True, exist_ok=True)
    for name in ("wallet", "relationship", "payment", "clearing"):
        (TEST_STATE_DIR / "logs" / f"{name}.log").unlink(missing_ok=True)
    platform = Platform(settings, env)
    platform.services("start")
    yield platform
    platform.services("stop")


@pytest.fixture
async def desk(platform: Platform) -> AsyncIterator[tuple[Wallets, Payments]]:
    """A province desk for paying tests: wallets and payments over one publisher and one watcher."""
    async with (
        Watcher(platform.settings.kafka_bootstrap, ALL_OUTPUT) as w,
        Publisher(platform.settings.kafka_bootstrap) as pub,
    ):
        provinces = Provinces(pub, w)
        yield Wallets(provinces, platform.settings.dsn("wallet")), Payments(provinces)
