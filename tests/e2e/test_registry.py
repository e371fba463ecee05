"""Interface v1.1: registry listings. Regions with their wallet status, institutions of a region or a province,
500 a page with a cursor, only to the requester's province."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from tests.e2e.conftest import Platform
from tests.e2e.families import Payments, Provinces, Wallets
from tests.support.kafka import envelope

pytestmark = pytest.mark.e2e
REGISTRY = "ingress.registry.v1"


async def listing(p: Provinces, body: dict[str, Any], sender: str) -> tuple[dict[str, Any], list[Any]]:
    msg = envelope("registry.query-requested", body, sender=sender, sent_at=p.now())
    await p.pub.send(REGISTRY, msg, key=body["admdvs"])
    result = await p.w.result_for(msg["msgid"])
    if result["status"] != "completed":
        return result, []
    pages = await p.w.wait_for(
        lambda r: r.value.get("type") == "registry.listing" and r.value["body"]["omsgid"] == msg["msgid"]
    )
    return result, pages


async def test_regions_are_listed_with_their_wallet_status_right_after_a_switch(
    desk: tuple[Wallets, Payments],
) -> None:
    wallets, _ = desk
    await wallets.enable("652300")
    await wallets.enable("652800", enabled=False)  # and at once: the listing shows it (ADR 0012)
    result, [page] = await listing(wallets.p, {"what": "regions", "admdvs": "650000"}, "440300")
    assert result["status"] == "completed"
    assert page.topic == "province.440000.notifications.v1", "to the requester's province only"
    items = {i["admdvs"]: i["wallet_enabled"] for i in page.value["body"]["items"]}
    assert (items["652300"], items["652800"]) == (True, False)
    assert set(items) <= {a for a in items if a.startswith("65")}
    assert "next_cursor" not in page.value["body"]


async def test_institutions_are_paged_500_at_a_time_in_code_order(
    platform: Platform, desk: tuple[Wallets, Payments]
) -> None:
    wallets, _ = desk
    conn = await asyncpg.connect(platform.settings.dsn("payment"))
    try:
        await conn.executemany(
            """INSERT INTO institutions (fixmedins_code, fixmedins_name, fixmedins_type, admdvs, wallet_enabled)
               VALUES ($1, $2, $3, '652300', $4) ON CONFLICT DO NOTHING""",
            [(f"H652300{n:05d}", f"昌吉 {n}", "2" if n % 12 == 0 else "1", n % 3 != 0) for n in range(1200)],
        )
    finally:
        await conn.close()
    seen: list[str] = []
    cursor: str | None = None
    sizes = []
    while True:
        body = {"what": "institutions", "admdvs": "652300", **({"cursor": cursor} if cursor else {})}
        result, [page] = await listing(wallets.p, body, "650100")
        assert result["status"] == "completed", result
        assert page.topic == "province.650000.notifications.v1"
        items = page.value["body"]["items"]
        sizes.append(len(items))
        seen += [i["fixmedins_code"] for i in items]
        cursor = page.value["body"].get("next_cursor")
        if cursor is None:
            break
    assert sizes == [500, 500, 200]
    assert seen == sorted(seen) == [f"H652300{n:05d}" for n in range(1200)]
    pharmacies = {"what": "institutions", "admdvs": "650000", "fixmedins_type": "2"}
    _, [page] = await listing(wallets.p, pharmacies, "650100")
    assert [i["fixmedins_code"] for i in page.value["body"]["items"]] == [f"H652300{n:05d}" for n in range(0, 1200, 12)]
    bad, _ = await listing(wallets.p, {"what": "institutions", "admdvs": "652300", "cursor": "nonsense"}, "650100")
    assert (bad["status"], bad["reason_code"]) == ("rejected", "INVALID_MESSAGE")
