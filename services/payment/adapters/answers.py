"""The deferred answers, in the service's inbox (shared/messaging): the PostgreSQL side of the Answers port."""

from __future__ import annotations

from shared.db.pool import Conn
from shared.messaging.consumer import answer_deferred
from shared.messaging.messages import Decision, Outgoing


class InboxAnswers:
    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def answer(self, sender: str, msgid: str, decision: Decision) -> list[Outgoing]:
        return await answer_deferred(self.conn, sender, msgid, decision)

    async def was_answered(self, sender: str, msgid: str) -> bool:
        return bool(await self.conn.fetchval("SELECT true FROM inbox WHERE sender = $1 AND msgid = $2", sender, msgid))
