"""A relationship (or a bind request) ends, for whatever reason: both provinces are told, and the event lets the
wallet give the recipient's unspent quota back."""

from __future__ import annotations

from services.relationship.domain.relationships import EndReason, Relationship
from services.relationship.service_layer.answering import to_both_provinces
from services.relationship.service_layer.context import RelationshipContext
from shared.contracts import province as p
from shared.messaging.messages import Outgoing, published


async def end(rel: Relationship, reason: EndReason, detail: str | None, ctx: RelationshipContext) -> list[Outgoing]:
    ended = rel.end(reason, detail, ctx.caller.now())
    await ctx.relationships.save(rel)
    notice = p.RelationshipEnded(
        relationship_id=rel.relationship_id,
        provider_psn_no=rel.provider_psn_no,
        recipient_psn_no=rel.recipient_psn_no,
        reason=reason.value,
        detail=detail,
    )
    return [*to_both_provinces(rel, "relationship.ended", notice), published(ended, rel.provider_psn_no)]
