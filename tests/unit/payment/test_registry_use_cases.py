"""Registry listings (interface v1.1), without servers: the use cases on the in-memory ports.
tests/e2e/test_registry.py proves the same through Kafka and PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from pydantic import ValidationError

from services.payment.adapters.memory import MemoryPayment
from services.payment.domain import commands
from services.payment.domain.institutions import Institution
from services.payment.service_layer.context import PaymentContext
from services.payment.service_layer.query_registry import query_registry
from services.payment.service_layer.record_region import record_region
from services.payment.service_layer.register_institution import register_institution
from shared.caller import Caller
from shared.clock import BUSINESS_TZ
from shared.contracts import province as p
from shared.contracts.reasons import ReasonCode
from shared.contracts.topics import province_topic
from shared.messaging.messages import Decision

NOON = datetime(2030, 3, 14, 12, 0, tzinfo=BUSINESS_TZ)
SHAANXI, XIAN_DISTRICT, BAOJI, GUANGDONG = "610100", "610103", "610300", "440300"


class Clock:
    def now(self) -> datetime:
        return NOON


def by(db: MemoryPayment, sender: str = GUANGDONG, msgid: str = "Q-1") -> PaymentContext:
    return db.context(Caller(Clock(), sender, msgid))


def query(admdvs: str, what: str = "institutions", **kw: Any) -> commands.QueryRegistry:
    return commands.QueryRegistry(p.RegistryQueryRequested.model_validate({"admdvs": admdvs, "what": what, **kw}))


def listing(decision: Decision) -> dict[str, Any]:
    assert decision.status == "completed", decision.reason
    [message] = decision.messages
    assert message.type == "registry.listing"
    return message.body


async def registry() -> MemoryPayment:
    """Three regions of Shaanxi (one without the wallet) and one of Guangdong; five institutions."""
    db = MemoryPayment()
    for admdvs, enabled in ((SHAANXI, True), (XIAN_DISTRICT, True), (BAOJI, False), (GUANGDONG, True)):
        assert await record_region(commands.RecordRegion(admdvs, enabled), by(db)) == []
    for code, kind, admdvs in (
        ("H61010300012", "1", SHAANXI),
        ("P61010300001", "2", SHAANXI),
        ("H61010300002", "1", XIAN_DISTRICT),
        ("H61030000001", "1", BAOJI),
        ("H44030000001", "1", GUANGDONG),
    ):
        institution = Institution(code, f"Institution {code}", kind, admdvs, wallet_enabled=kind == "1")
        assert (await register_institution(commands.UpsertInstitution(institution), by(db, admdvs))).status == (
            "completed"
        )
    return db


async def test_regions_of_a_province_in_code_order() -> None:
    db = await registry()
    decision = await query_registry(query("610000", "regions"), by(db))
    [message] = decision.messages
    assert (message.topic, message.key) == (province_topic(GUANGDONG), "610000")  # to the requester only
    body = listing(decision)
    assert (body["omsgid"], body["what"]) == ("Q-1", "regions")
    assert body["items"] == [
        {"admdvs": SHAANXI, "wallet_enabled": True},
        {"admdvs": XIAN_DISTRICT, "wallet_enabled": True},
        {"admdvs": BAOJI, "wallet_enabled": False},
    ]
    assert "next_cursor" not in body
    await record_region(commands.RecordRegion(BAOJI, True), by(db))  # the newest switch is the one listed
    assert listing(await query_registry(query(BAOJI, "regions"), by(db)))["items"] == [
        {"admdvs": BAOJI, "wallet_enabled": True}
    ]


async def test_institutions_of_a_region_or_a_province_by_type() -> None:
    db = await registry()
    region = listing(await query_registry(query(SHAANXI), by(db)))
    assert [i["fixmedins_code"] for i in region["items"]] == ["H61010300012", "P61010300001"]
    assert region["items"][1] == {
        "fixmedins_code": "P61010300001", "fixmedins_name": "Institution P61010300001", "fixmedins_type": "2",
        "admdvs": SHAANXI, "wallet_enabled": False,
    }  # fmt: skip
    province = listing(await query_registry(query("610000", fixmedins_type="1"), by(db)))
    assert [i["fixmedins_code"] for i in province["items"]] == ["H61010300012", "H61010300002", "H61030000001"]
    assert listing(await query_registry(query("620000"), by(db)))["items"] == []


@pytest.mark.parametrize(("what", "pages"), [("institutions", [2, 2]), ("regions", [2, 1])])
async def test_a_listing_pages_until_the_last(what: str, pages: list[int]) -> None:
    db = await registry()
    cursor: str | None = None
    seen: list[list[str]] = []
    for n, size in enumerate(pages):
        body = listing(await query_registry(query("610000", what, cursor=cursor), by(db, msgid=f"Q-{n}"), page=2))
        seen.append([i.get("fixmedins_code", i["admdvs"]) for i in body["items"]])
        assert len(body["items"]) == size
        cursor = body.get("next_cursor")
        assert (cursor is None) == (n == len(pages) - 1)
    everything = listing(await query_registry(query("610000", what), by(db)))
    assert [x for page in seen for x in page] == [i.get("fixmedins_code", i["admdvs"]) for i in everything["items"]]


@pytest.mark.parametrize(("what", "cursor"), [("regions", "610100:H61010300012"), ("institutions", "610100")])
async def test_a_cursor_this_platform_did_not_give_is_refused(what: str, cursor: str) -> None:
    db = await registry()
    decision = await query_registry(query("610000", what, cursor=cursor), by(db))
    assert decision.reason_code == ReasonCode.INVALID_MESSAGE


@pytest.mark.parametrize("cursor", ["61010", "610100:H1", "abcdef:H1", "６１０１００", "610100:H6101030001２"])
def test_a_cursor_of_no_listing_is_refused_by_the_contract(cursor: str) -> None:
    """Not the form of any `next_cursor`: INVALID_MESSAGE at classification, before the handler."""
    with pytest.raises(ValidationError):
        query("610000", "institutions", cursor=cursor)
