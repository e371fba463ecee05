"""Retention of stored payloads, a periodic job of every service.

After `MEDAID_RETENTION_DAYS` (real time: how long data is kept is a storage matter, not business time):
- a published outbox row is deleted: it was only the means to publish, and the topic keeps the record for the
  topic's own retention (a row that failed to publish stays for the operators);
- an inbox row keeps its idempotency key (sender, msgid), its type and status, and only the core of the answer
  (`omsgid`, `otype`, `status`, `reason_code`, the `*_id` fields a sender goes on with, and the record key its
  repeat is answered with); the reason text (now null), amounts and balances go. A repeat of the msgid then
  gets that core again, and still has no second effect. A deferred answer (a saga still running) is kept whole.
"""

from __future__ import annotations

from shared.db.pool import Conn

# `_key`: the record key a repeat's answer is published with (shared/messaging/consumer.py)
CORE = ("omsgid", "otype", "status", "reason_code", "_key")


async def purge_payloads(conn: Conn, days: int, limit: int = 5000) -> int:
    """One batch of each; returns how many rows were purged (the job runs again at once while there are more)."""
    deleted = await conn.fetchval(
        """WITH old AS (SELECT id FROM outbox
                        WHERE created_at < now() - make_interval(days => $1) AND published_at IS NOT NULL
                        ORDER BY created_at LIMIT $2)
           , gone AS (DELETE FROM outbox WHERE id IN (SELECT id FROM old) RETURNING 1)
           SELECT count(*) FROM gone""",
        days,
        limit,
    )
    purged = await conn.fetchval(
        """WITH old AS (SELECT sender, msgid FROM inbox
                        WHERE NOT payload_purged AND received_at < now() - make_interval(days => $1)
                          AND status <> 'deferred'
                        ORDER BY received_at LIMIT $2 FOR UPDATE SKIP LOCKED)
           , done AS (
               UPDATE inbox i SET payload_purged = true,
                   result = CASE WHEN jsonb_typeof(i.result) = 'object' THEN
                            (SELECT coalesce(jsonb_object_agg(e.key, e.value), '{}'::jsonb)
                             FROM jsonb_each(i.result) AS e
                             WHERE e.key = ANY($3::text[]) OR e.key LIKE '%\\_id') || '{"reason": null}'::jsonb
                            ELSE i.result END
               FROM old WHERE i.sender = old.sender AND i.msgid = old.msgid RETURNING 1)
           SELECT count(*) FROM done""",
        days,
        limit,
        list(CORE),
    )
    return int(deleted) + int(purged)
