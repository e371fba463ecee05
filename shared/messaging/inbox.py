"""What a transaction knows of its records' (sender, msgid) before it handles them (ADR 0018).

A batch asks the inbox once which of its msgids were answered before, and `msgids_elsewhere` once which another
service claimed (ADR 0013), instead of two queries a record. A msgid that is neither needs no repeat query. A
msgid the same transaction recorded (twice in one batch) is asked again, row by row, as before. A concurrent
transaction that records the same msgid after the look-up makes this one's inbox insert fail on the primary key:
the batch then goes one record at a time, and the record is a repeat like any other.
"""

from __future__ import annotations

from collections.abc import Iterable

from shared.db.pool import Conn

Key = tuple[str, str]


class InboxLookups:
    def __init__(self, answered: set[Key], elsewhere: dict[Key, tuple[str, str]]) -> None:
        self._answered = answered
        self._elsewhere = elsewhere

    @classmethod
    async def load(cls, conn: Conn, keys: Iterable[Key]) -> InboxLookups:
        wanted = sorted(set(keys))
        if not wanted:
            return cls(set(), {})
        senders = [k[0] for k in wanted]
        msgids = [k[1] for k in wanted]
        answered = await conn.fetch(
            """SELECT i.sender, i.msgid FROM unnest($1::text[], $2::text[]) AS k(sender, msgid)
               JOIN inbox i ON i.sender = k.sender AND i.msgid = k.msgid""",
            senders,
            msgids,
        )
        elsewhere = await conn.fetch(
            """SELECT e.sender, e.msgid, e.service, e.type FROM unnest($1::text[], $2::text[]) AS k(sender, msgid)
               JOIN msgids_elsewhere e ON e.sender = k.sender AND e.msgid = k.msgid""",
            senders,
            msgids,
        )
        return cls(
            {(r["sender"], r["msgid"]) for r in answered},
            {(r["sender"], r["msgid"]): (r["service"], r["type"]) for r in elsewhere},
        )

    def may_be_answered(self, sender: str, msgid: str) -> bool:
        """False only when the inbox certainly has no row for it in this transaction."""
        return (sender, msgid) in self._answered

    def recorded(self, sender: str, msgid: str) -> None:
        """This transaction wrote its inbox row: a later record with the same msgid must ask the inbox."""
        self._answered.add((sender, msgid))

    def claimed_elsewhere(self, sender: str, msgid: str) -> tuple[str, str] | None:
        return self._elsewhere.get((sender, msgid))
