"""A party's province ends the relationship (`relationship.terminate-requested`), pending or established."""

from __future__ import annotations

from services.relationship.domain import commands
from services.relationship.domain.relationships import EndReason, Status
from services.relationship.service_layer.context import RelationshipContext
from services.relationship.service_layer.ending import end
from shared.contracts.reasons import ReasonCode
from shared.messaging.messages import Decision


async def terminate(cmd: commands.TerminateRelationship, ctx: RelationshipContext) -> Decision:
    rel = await ctx.relationships.get_for_update(cmd.relationship_id)
    if rel is None:
        return Decision.rejected(ReasonCode.NO_RELATIONSHIP, "no relationship has this relationship_id")
    if cmd.requested_by_psn_no not in (rel.provider_psn_no, rel.recipient_psn_no):
        return Decision.rejected(ReasonCode.NOT_A_PARTY, "only the provider or the recipient can end it")
    by_provider = cmd.requested_by_psn_no == rel.provider_psn_no
    if not ctx.caller.speaks_for(rel.provider_admdvs if by_provider else rel.recipient_admdvs):
        return Decision.rejected(ReasonCode.NOT_A_PARTY, "a termination comes from the requester's insured province")
    if rel.status is Status.ENDED:  # after the sender: whether it ended is the parties' to know
        return Decision.rejected(ReasonCode.NO_RELATIONSHIP, "the relationship has already ended")
    reason = EndReason.TERMINATED_BY_PROVIDER if by_provider else EndReason.TERMINATED_BY_RECIPIENT
    return Decision.completed(await end(rel, reason, None, ctx), relationship_id=rel.relationship_id)
