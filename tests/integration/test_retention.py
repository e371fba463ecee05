"""Issue 11, part 4: stored payloads are purged after the retention days; idempotency keys and answers' cores stay."""

from __future__ import annotations

import pytest

from shared.db.migrations import migrate
from shared.db.pool import connect
from shared.messaging.retention import purge_payloads
from shared.settings import PlatformSettings

pytestmark = pytest.mark.integration

ANSWER = {
    "omsgid": "m",
    "otype": "transfer.requested",
    "status": "accepted",
    "reason_code": None,
    "reason": "610100000000001234 may receive",
    "transfer_id": "t-1",
    "amount": "100.00",
    "_key": "610100000000001234",
}


async def test_old_payloads_go_and_what_idempotency_needs_stays(settings: PlatformSettings) -> None:
    conn = await connect(settings.dsn("wallet"))
    try:
        await migrate(conn, "wallet", None)
        for msgid, days, status in (("old", 40, "accepted"), ("new", 1, "accepted"), ("waiting", 40, "deferred")):
            await conn.execute(
                """INSERT INTO inbox (sender, msgid, type, status, result, topic, partition, "offset", received_at)
                   VALUES ('440300', $1, 'transfer.requested', $2, $3::jsonb, 'ingress.wallet.v1', 0, 0,
                           now() - make_interval(days => $4))""",
                msgid,
                status,
                {**ANSWER, "omsgid": msgid},
                days,
            )
        for msgid, days, published in (("o-old", 40, True), ("o-new", 1, True), ("o-unsent", 40, False)):
            await conn.execute(
                """INSERT INTO outbox (msgid, topic, key, type, value, created_at, published_at)
                   VALUES ($1, 'wallet.events.v1', 'k', 't', '\\x7b7d'::bytea, now() - make_interval(days => $2),
                           CASE WHEN $3 THEN now() END)""",
                msgid,
                days,
                published,
            )
        assert await purge_payloads(conn, 30) == 2
        assert await purge_payloads(conn, 30) == 0, "once"
        rows = {r["msgid"]: r["result"] for r in await conn.fetch("SELECT msgid, result FROM inbox")}
        assert rows["old"] == {
            "_key": ANSWER["_key"],
            "reason": None,
            "omsgid": "old",
            "otype": "transfer.requested",
            "status": "accepted",
            "reason_code": None,
            "transfer_id": "t-1",
        }
        assert rows["new"]["reason"] == ANSWER["reason"], "young answers are kept whole"
        assert rows["waiting"]["amount"] == "100.00", "so is a deferred one"
        kept = {r["msgid"] for r in await conn.fetch("SELECT msgid FROM outbox")}
        assert kept == {"o-new", "o-unsent"}, "a row not published yet is never purged"
    finally:
        await conn.close()
