"""Issue 11, part 3 (first rows): who may send what, refused through the running services otherwise."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator

import pytest

from shared.contracts.topics import PROVINCE_TOPICS
from tests.e2e.conftest import Platform
from tests.e2e.families import Provinces
from tests.support.kafka import Publisher, Watcher

pytestmark = pytest.mark.e2e
REGISTRY = "ingress.registry.v1"


@pytest.fixture
async def provinces(platform: Platform) -> AsyncIterator[Provinces]:
    async with (
        Publisher(platform.settings.kafka_bootstrap) as pub,
        Watcher(platform.settings.kafka_bootstrap, list(PROVINCE_TOPICS)) as w,
    ):
        yield Provinces(pub, w, platform.now)


async def test_a_regions_wallet_is_switched_by_its_own_province_only(provinces: Provinces) -> None:
    switch = {"admdvs": "610100", "wallet_enabled": False}
    refused = await provinces.ask(REGISTRY, "region.wallet-status-changed", switch, "440300", "610100")
    assert (refused["status"], refused["reason_code"]) == ("rejected", "SENDER_NOT_ALLOWED")
    own = await provinces.ask(
        REGISTRY, "region.wallet-status-changed", {**switch, "wallet_enabled": True}, "610300", "610100"
    )
    assert own["status"] == "completed", "another region of the same province keeps the province's registry"


async def test_an_institution_is_registered_and_moved_only_by_its_province(provinces: Provinces) -> None:
    code = f"H610100{random.randrange(10**5):05d}"
    hospital = {
        "fixmedins_code": code,
        "fixmedins_name": "西安市第九医院",
        "fixmedins_type": "1",
        "admdvs": "610100",
        "wallet_enabled": True,
    }
    created_elsewhere = await provinces.ask(REGISTRY, "institution.upserted", hospital, "440300", "610100")
    assert (created_elsewhere["status"], created_elsewhere["reason_code"]) == ("rejected", "SENDER_NOT_ALLOWED")
    assert (await provinces.ask(REGISTRY, "institution.upserted", hospital, "610100", "610100"))[
        "status"
    ] == "completed"
    moved = await provinces.ask(REGISTRY, "institution.upserted", {**hospital, "admdvs": "440300"}, "440300", "440300")
    assert (moved["status"], moved["reason_code"]) == ("rejected", "SENDER_NOT_ALLOWED"), "a province cannot take it"
    disabled = await provinces.ask(
        REGISTRY, "institution.upserted", {**hospital, "wallet_enabled": False}, "440300", "610100"
    )
    assert disabled["reason_code"] == "SENDER_NOT_ALLOWED", "nor switch it off"
