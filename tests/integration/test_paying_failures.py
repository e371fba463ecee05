"""When the payment service cannot apply the wallet's answer, the province still gets its one answer and
whatever the wallet took is asked back."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from services.payment import settlements
from services.payment.adapters.settlement_repository import SettlementRepository
from shared.clock import BusinessClock
from shared.db.migrations import migrate
from shared.db.pool import connect
from shared.settings import PlatformSettings

pytestmark = pytest.mark.integration

PAYMENT_DIR = Path(__file__).resolve().parents[2] / "services" / "payment"


async def test_a_dead_lettered_wallet_answer_refuses_the_settlement_and_asks_for_a_refund(
    settings: PlatformSettings,
) -> None:
    conn = await connect(settings.dsn("payment"))
    try:
        await migrate(conn, "payment", PAYMENT_DIR)
        now = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
        async with conn.transaction():
            await SettlementRepository(conn).insert(
                {
                    "setl_id": "setl-failed-1",
                    "purpose": "settlement",
                    "sender": "610100",
                    "msgid": "H6101-FAIL-0001",
                    "psn_no": "61010000000000000001",
                    "mdtrt_id": "m1",
                    "fixmedins_code": "H61010300012",
                    "institution_admdvs": "610100",
                    "psn_part_amt": Decimal("80.00"),
                    "acct_used_flag": "1",
                    "use_wallet": False,
                    "setl_time": now,
                    "state": "debiting",
                    "requested_at": now,
                }
            )
            await conn.execute(
                """INSERT INTO inbox (sender, msgid, type, status, result, topic, partition, "offset")
                   VALUES ('610100', 'H6101-FAIL-0001', 'settlement.requested', 'deferred',
                           '{"status": "deferred", "_key": "61010000000000000001"}', 'ingress.settlement.v1', 0, 1)"""
            )
            out = await settlements.on_wallet_answer_failed(
                conn, "setl-failed-1", True, SettlementRepository(conn), BusinessClock()
            )
            again = await settlements.on_wallet_answer_failed(
                conn, "setl-failed-1", True, SettlementRepository(conn), BusinessClock()
            )
        kinds = [(m.type, m.topic) for m in out]
        assert ("request.result", "province.610000.notifications.v1") in kinds
        assert ("payment.refund-requested", "payment.events.v1") in kinds
        [result] = [m.body for m in out if m.type == "request.result"]
        assert (result["status"], result["reason_code"]) == ("rejected", "PROCESSING_FAILED")
        assert again == [], "answered once"
        assert await conn.fetchval("SELECT state FROM settlements WHERE setl_id = 'setl-failed-1'") == "refused"
        assert await conn.fetchval("SELECT status FROM inbox WHERE msgid = 'H6101-FAIL-0001'") == "rejected"
    finally:
        await conn.close()
