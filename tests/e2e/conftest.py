"""The four services as real processes (deploy/local/services.sh) on the test infrastructure."""

from __future__ import annotations

import os
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

import pytest

from shared.clock import BusinessClock, offset_for
from shared.settings import PlatformSettings
from tests.conftest import new_database
from tests.e2e.families import ALL_OUTPUT, Payments, Provinces, Wallets
from tests.support.infra import REPO, TEST_METRICS_PORT_BASE, TEST_STATE_DIR, Infra
from tests.support.kafka import Publisher, Watcher
from tools import clock as stack_clock

SCRIPT = str(REPO / "deploy" / "local" / "services.sh")


CLOCK_AT = os.environ.get("MEDAID_TEST_CLOCK_AT")
"""The platform's business time at session start: real time (unset), or this ISO 8601 instant with its UTC offset
(`make test-any-day` runs the time-sensitive tests at several)."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked `first_on_the_session_clock` run before any test moves the platform's clock."""
    items.sort(key=lambda item: item.get_closest_marker("first_on_the_session_clock") is None)


@dataclass
class Platform:
    """The four services on one business clock. Tests move it only forward, all services at once, to the
    instant they need (`advance_to`, `daytime`), relative to wherever it stands: never to a fixed date."""

    settings: PlatformSettings
    env: dict[str, str]

    @property
    def clock(self) -> BusinessClock:
        return BusinessClock(self.settings.clock_offset_seconds)

    def now(self) -> datetime:
        return self.clock.now()

    def advance_to(self, instant: datetime) -> None:
        """Every service stopped, the platform's offset moved forward, every service started again."""
        self.env = stack_clock.move_to(instant, self.env)
        self.settings = self.settings.model_copy(
            update={"clock_offset_seconds": float(self.env["MEDAID_CLOCK_OFFSET_SECONDS"])}
        )

    def follow_the_stack(self) -> None:
        """After something else moved the stack's clock (the simulator): take its offset."""
        offset = stack_clock.stack_offset(self.env)
        self.env = {**self.env, "MEDAID_CLOCK_OFFSET_SECONDS": repr(offset)}
        self.settings = self.settings.model_copy(update={"clock_offset_seconds": offset})

    def daytime(self) -> None:
        """Transfers need business daytime: outside 06:00-21:00, move on to the next 10:00."""
        morning = stack_clock.next_daytime(self.now())
        if morning is not None:
            self.advance_to(morning)

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
        "MEDAID_PG_SECRETS_FILE": os.environ["MEDAID_PG_SECRETS_FILE"],
        "MEDAID_LOG_FORMAT": "json",
        "MEDAID_OUTBOX_POLL_SECONDS": "0.2",
        "MEDAID_SWEEP_SECONDS": "0.5",
        "MEDAID_METRICS_PORT_BASE": str(TEST_METRICS_PORT_BASE),
        "MEDAID_METRICS_REFRESH_SECONDS": "0.5",
        "MEDAID_METRICS_BOOKS_SECONDS": "1",
    }
    env.pop("MEDAID_CLOCK_OFFSET_SECONDS", None)  # `make test` exports the dev stack's: not this one's
    for own in ("MEDAID_KAFKA_USERNAME", "MEDAID_KAFKA_PASSWORD"):
        env.pop(own, None)  # each service acts as its own principal (deploy/acls.toml), never as the tests' admin
    (stack_clock.state_dir(env) / stack_clock.CLOCK_FILE).unlink(missing_ok=True)
    if CLOCK_AT:
        env = stack_clock.set_stack_offset(env, offset_for(datetime.fromisoformat(CLOCK_AT)))
    (TEST_STATE_DIR / "logs").mkdir(parents=True, exist_ok=True)
    for name in ("wallet", "relationship", "payment", "clearing"):
        (TEST_STATE_DIR / "logs" / f"{name}.log").unlink(missing_ok=True)
    platform = Platform(settings, env)
    platform.services("start")  # with no clock given, the script starts the stack on real time, as `make up` does
    platform.env = {**env, "MEDAID_CLOCK_OFFSET_SECONDS": repr(stack_clock.stack_offset(env))}
    platform.settings = settings.model_copy(update={"clock_offset_seconds": stack_clock.stack_offset(env)})
    yield platform
    platform.services("stop")


@pytest.fixture
async def any_hour_desk(platform: Platform) -> AsyncIterator[tuple[Wallets, Payments]]:
    """A province desk for paying tests: wallets and payments over one publisher and one watcher, at whatever
    business time the platform stands."""
    async with (
        Watcher(platform.settings.kafka_bootstrap, ALL_OUTPUT) as w,
        Publisher(platform.settings.kafka_bootstrap) as pub,
    ):
        provinces = Provinces(pub, w, platform.now)
        yield Wallets(provinces, platform.settings.dsn("wallet")), Payments(provinces)


@pytest.fixture
async def desk(platform: Platform, any_hour_desk: tuple[Wallets, Payments]) -> tuple[Wallets, Payments]:
    """The desk in business daytime: paying needs quota, and transfers are refused in the quiet hours."""
    platform.daytime()
    return any_hour_desk
