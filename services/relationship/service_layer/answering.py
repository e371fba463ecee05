"""What every use case answers with: a refusal (with its event for analytics) and the notices to both parties'
provinces."""

from __future__ import annotations

from services.relationship.domain import events
from services.relationship.domain.relationships import Refusal, Relationship
from services.relationship.service_layer.context import RelationshipContext
from shared.contracts import province as p
from shared.identity import redact_text
from shared.messaging.messages import Decision, Outgoing, published, to_provinces


def to_both_provinces(rel: Relationship, type_: str, body: p.Body) -> list[Outgoing]:
    return to_provinces((rel.provider_admdvs, rel.recipient_admdvs), type_, body, rel.provider_psn_no)


def refused(
    rel: Relationship | None,
    refusal: Refusal,
    ctx: RelationshipContext,
    *,
    provider: str = "",
    recipient: str = "",
    kinship: str = "",
) -> Decision:
    """`rejected`, and `relationship.bind-refused` (of the request's parties when there is no relationship yet)."""
    e = events.RelationshipRefused(
        relationship_id=rel.relationship_id if rel else None,
        provider_psn_no=rel.provider_psn_no if rel else provider,
        recipient_psn_no=rel.recipient_psn_no if rel else recipient,
        kinship=rel.kinship if rel else redact_text(kinship[:40]),
        reason_code=refusal.code.value,
        occurred_at=ctx.caller.now(),
    )
    return Decision.rejected(refusal.code, refusal.reason, [published(e, e.provider_psn_no)])
