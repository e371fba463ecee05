"""The sweep: bind requests nobody consented to in time end, and both provinces are told."""

from __future__ import annotations

from services.relationship.domain import commands
from services.relationship.domain.relationships import EndReason
from services.relationship.service_layer.context import RelationshipContext
from services.relationship.service_layer.ending import end
from shared.messaging.messages import Outgoing


async def expire_bind_requests(cmd: commands.ExpireBindRequests, ctx: RelationshipContext) -> list[Outgoing]:
    messages: list[Outgoing] = []
    for rel in await ctx.relationships.expired_pending(ctx.caller.now(), cmd.limit):
        messages += await end(rel, EndReason.BIND_REQUEST_EXPIRED, None, ctx)
    return messages
