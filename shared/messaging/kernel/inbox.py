"""What a transaction knows of its records' (sender, msgid) before it handles them (ADR 0018).

A batch asks once, in one statement, which of its msgids the inbox answered before and which another service
claimed (`msgids_elsewhere`, ADR 0013). A msgid that is neither needs no repeat query. A msgid the same transaction
recorded (twice in one batch) is asked again, row by row. A concurrent transaction that records the same msgid after
the look-up makes this one's inbox insert fail on the primary key: the batch then goes one record at a time, and
the record is a repeat like any other.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, cast

from shared.contracts.envelope import Envelope
from shared.db.pool import Conn
from shared.messaging.kernel.position import Tracking
from shared.messaging.kernel.records import ConsumerRecord
from shared.messaging.msgids import claimed_elsewhere

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
        rows = await conn.fetch(
            """SELECT k.sender, k.msgid, i.sender IS NOT NULL AS answered, e.service, e.type
               FROM unnest($1::text[], $2::text[]) AS k(sender, msgid)
               LEFT JOIN inbox i ON i.sender = k.sender AND i.msgid = k.msgid
               LEFT JOIN msgids_elsewhere e ON e.sender = k.sender AND e.msgid = k.msgid
               WHERE i.sender IS NOT NULL OR e.sender IS NOT NULL""",
            [k[0] for k in wanted],
            [k[1] for k in wanted],
        )
        return cls(
            {(r["sender"], r["msgid"]) for r in rows if r["answered"]},
            {(r["sender"], r["msgid"]): (r["service"], r["type"]) for r in rows if r["service"] is not None},
        )

    def may_be_answered(self, sender: str, msgid: str) -> bool:
        """False only when the inbox certainly has no row for it in this transaction."""
        return (sender, msgid) in self._answered

    def recorded(self, sender: str, msgid: str) -> None:
        """This transaction wrote its inbox row: a later record with the same msgid must ask the inbox."""
        self._answered.add((sender, msgid))

    def claimed_elsewhere(self, sender: str, msgid: str) -> tuple[str, str] | None:
        return self._elsewhere.get((sender, msgid))


class AtCommit(Protocol):
    """Work a transaction's handlers leave to its end: done once, just before it commits."""

    async def flush(self, conn: Conn) -> None: ...


Part = TypeVar("Part", bound=AtCommit)


class BeforeCommit:
    """The parts of a transaction's work that wait for its end, one of each kind, made when first asked for. A
    hot row written there is locked only from then until the commit (the wallet's fund and spending accounts)."""

    def __init__(self) -> None:
        self._parts: dict[type[Any], AtCommit] = {}

    def part(self, kind: type[Part]) -> Part:
        found = self._parts.get(kind)
        if found is None:
            found = self._parts[kind] = kind()
        return cast(Part, found)

    async def flush(self, conn: Conn) -> None:
        for part in self._parts.values():
            await part.flush(conn)


@dataclass
class Scope:
    """One transaction's view of its records: its connection, its tracking records, and what it looked up of their
    msgids (None: ask the inbox record by record, as a record's own transaction does)."""

    conn: Conn
    tracking: Tracking
    lookups: InboxLookups | None = None
    decided: str | None = None
    """The status of the answer the last record got (the metrics' outcome)."""
    deferred: list[Envelope[Any]] = field(default_factory=list)
    """Events applied at the transaction's end, as a set (the event stages)."""
    end: BeforeCommit = field(default_factory=BeforeCommit)
    """What the handlers left to the transaction's end."""

    def may_be_answered(self, sender: str, msgid: str) -> bool:
        return self.lookups is None or self.lookups.may_be_answered(sender, msgid)

    def recorded(self, sender: str, msgid: str) -> None:
        if self.lookups is not None:
            self.lookups.recorded(sender, msgid)

    async def claimed_elsewhere(self, sender: str, msgid: str) -> tuple[str, str] | None:
        """(service, type) of another service's first use of this msgid (ADR 0013), if any."""
        if self.lookups is not None:
            return self.lookups.claimed_elsewhere(sender, msgid)
        return await claimed_elsewhere(self.conn, sender, msgid)


async def remember_event(conn: Conn, record: ConsumerRecord, env: Envelope[Any], status: str) -> bool:
    """Remember an event by its platform msgid; False when it was applied (or given up on) before."""
    return bool(
        await conn.fetchval(
            """INSERT INTO inbox (sender, msgid, type, status, result, topic, partition, "offset")
               VALUES ($1, $2, $3, $4, '{}'::jsonb, $5, $6, $7)
               ON CONFLICT (sender, msgid) DO NOTHING RETURNING true""",
            env.sender,
            env.msgid,
            env.type,
            status,
            record.topic,
            record.partition,
            record.offset,
        )
    )
