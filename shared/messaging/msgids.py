"""One msgid per sender, platform-wide (ADR 0013). The inbox is per service; the contract's idempotency key is
(sender, msgid) across the whole platform. So each service publishes, with the answer it records first, a claim
on its own `<service>.msgids.v1` (an event stream: published and acknowledged before the answer), follows the
other services' claims into `msgids_elsewhere`, and waits for those followers (ADR 0012) before judging a new
request: a msgid another service answered before this request arrived is refused MSGID_REUSED, with no effect."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.contracts.envelope import Envelope
from shared.contracts.topics import msgids_topic
from shared.db.pool import Conn
from shared.logging import get_logger
from shared.messaging.messages import Outgoing

log = get_logger(__name__)

CLAIMED = "msgid.claimed"


class MsgidClaimed(BaseModel):
    """A service recorded its first answer to (sender, msgid): no other service may act on that msgid."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    sender: str = Field(description="the sender of the ingress message")
    msgid: str = Field(description="its msgid")
    type: str = Field(description="the message type it was used for")
    service: str = Field(description="the service that answered it")
    claimed_at: AwareDatetime


def claim(service: str, sender: str, msgid: str, type_name: str, at: datetime) -> Outgoing:
    body = MsgidClaimed(sender=sender, msgid=msgid, type=type_name, service=service, claimed_at=at)
    return Outgoing(msgids_topic(service), sender, CLAIMED, body.model_dump(mode="json"), correlation_id=msgid)


async def claimed_elsewhere(conn: Conn, sender: str, msgid: str) -> tuple[str, str] | None:
    """(service, type) of the first use of this msgid by another service, if any."""
    row = await conn.fetchrow(
        "SELECT service, type FROM msgids_elsewhere WHERE sender = $1 AND msgid = $2", sender, msgid
    )
    return None if row is None else (row["service"], row["type"])


async def on_claimed(ctx: Any, env: Envelope[Any]) -> list[Outgoing]:
    """Another service's claim. When this service answered the same msgid too (both arrived before either claim
    was published), both acted: logged for operators (ADR 0013 says when this can happen). Idempotent by itself
    (the follower writes no inbox row for claims): a claim the relay published twice is stored once, and a
    double use found is logged again."""
    await on_claims(ctx.conn, [env])
    return []


async def on_claims(conn: Conn, envs: Sequence[Envelope[Any]]) -> None:
    """`on_claimed` for a batch's claims at once: one insert and one look-up for all of them (ADR 0018)."""
    claims: list[MsgidClaimed] = [e.body for e in envs]
    await conn.execute(
        """INSERT INTO msgids_elsewhere (sender, msgid, service, type, claimed_at)
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[])
           ON CONFLICT (sender, msgid) DO NOTHING""",
        [b.sender for b in claims],
        [b.msgid for b in claims],
        [b.service for b in claims],
        [b.type for b in claims],
        [b.claimed_at for b in claims],
    )
    doubles = await conn.fetch(
        """SELECT i.sender, i.msgid, i.type FROM unnest($1::text[], $2::text[]) AS k(sender, msgid)
           JOIN inbox i ON i.sender = k.sender AND i.msgid = k.msgid
           WHERE coalesce(i.reason_code, '') <> 'MSGID_REUSED'""",
        [b.sender for b in claims],
        [b.msgid for b in claims],
    )
    by_key = {(b.sender, b.msgid): b for b in claims}
    for row in doubles:
        b = by_key[(row["sender"], row["msgid"])]
        log.error(
            "msgid_used_by_two_services",
            sender=b.sender,
            msgid=b.msgid,
            here=row["type"],
            elsewhere=f"{b.service} {b.type}",
        )
