"""One msgid per sender, platform-wide (ADR 0013). The inbox is per service; the contract's idempotency key is
(sender, msgid) across the whole platform. So each service publishes, with the answer it records first, a claim
on its own `<service>.msgids.v1` (an event stream: published and acknowledged before the answer), follows the
other services' claims into `msgids_elsewhere`, and waits for those followers (ADR 0012) before judging a new
request: a msgid another service answered before this request arrived is refused MSGID_REUSED, with no effect."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.contracts.envelope import Envelope
from shared.contracts.topics import msgids_topic
from shared.db.pool import Conn
from shared.logging import get_logger
from shared.messaging.outbox import Outgoing

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
    b: MsgidClaimed = env.body
    await ctx.conn.execute(
        """INSERT INTO msgids_elsewhere (sender, msgid, service, type, claimed_at) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (sender, msgid) DO NOTHING""",
        b.sender,
        b.msgid,
        b.service,
        b.type,
        b.claimed_at,
    )
    here = await ctx.conn.fetchval(
        "SELECT type FROM inbox WHERE sender = $1 AND msgid = $2 AND coalesce(reason_code, '') <> 'MSGID_REUSED'",
        b.sender,
        b.msgid,
    )
    if here is not None:
        log.error(
            "msgid_used_by_two_services",
            sender=b.sender,
            msgid=b.msgid,
            here=here,
            elsewhere=f"{b.service} {b.type}",
        )
    return []
