"""The recipient's province consents (`relationship.bind-confirmed`): the relationship is established when it is
still pending, in time, and both people and both regions' policies still allow it."""

from __future__ import annotations

from services.relationship.domain import commands
from services.relationship.domain.relationships import EndReason, Status, check_eligibility, check_policy
from services.relationship.service_layer.answering import refused, to_both_provinces
from services.relationship.service_layer.context import RelationshipContext
from services.relationship.service_layer.ending import end
from shared.contracts import province as p
from shared.contracts.policy import effective_policy
from shared.contracts.reasons import ReasonCode
from shared.messaging.messages import Decision, published


async def confirm_bind(cmd: commands.ConfirmBind, ctx: RelationshipContext) -> Decision:
    # Lock order everywhere: people first, then relationships (as an enrolment change does): no deadlock.
    seen = await ctx.relationships.get(cmd.relationship_id)
    if seen is None:
        return Decision.rejected(ReasonCode.NO_RELATIONSHIP, "no bind request has this relationship_id")
    people = await ctx.people.lock(seen.provider_psn_no, seen.recipient_psn_no)
    rel = await ctx.relationships.get_for_update(cmd.relationship_id)
    assert rel is not None
    if rel.recipient_psn_no != cmd.recipient_psn_no:
        return Decision.rejected(ReasonCode.NOT_A_PARTY, "only the recipient named in the request can consent")
    recipient_now = people.get(rel.recipient_psn_no)
    if not ctx.caller.speaks_for(recipient_now.insuplc_admdvs if recipient_now else rel.recipient_admdvs):
        return Decision.rejected(ReasonCode.NOT_A_PARTY, "a consent comes from the recipient's insured province")
    if rel.status is Status.ESTABLISHED:
        return Decision.completed(relationship_id=rel.relationship_id)  # consent was already given
    if rel.status is Status.ENDED:
        return Decision.rejected(ReasonCode.NO_RELATIONSHIP, "the bind request has ended")
    if rel.overdue(ctx.caller.now()):
        ended = await end(rel, EndReason.BIND_REQUEST_EXPIRED, None, ctx)
        return Decision.rejected(ReasonCode.NO_RELATIONSHIP, "the bind request expired", ended)
    refusal = check_eligibility(people.get(rel.provider_psn_no), recipient_now)
    if refusal is None:
        rows = await ctx.policies.rows(rel.provider_admdvs, rel.recipient_admdvs)
        standing = await ctx.relationships.standing(rel.provider_psn_no, rel.recipient_psn_no, rel.relationship_id)
        refusal = check_policy(
            rel.kinship,
            standing,
            effective_policy(rel.provider_admdvs, rows),
            effective_policy(rel.recipient_admdvs, rows),
        )
    if refusal:
        return refused(rel, refusal, ctx)
    established = rel.establish(ctx.caller.now())
    await ctx.relationships.save(rel)
    notice = p.RelationshipEstablished(
        relationship_id=rel.relationship_id,
        provider_psn_no=rel.provider_psn_no,
        recipient_psn_no=rel.recipient_psn_no,
        kinship=rel.kinship,
    )
    messages = [
        *to_both_provinces(rel, "relationship.established", notice),
        published(established, rel.provider_psn_no),
    ]
    return Decision.completed(messages, relationship_id=rel.relationship_id)
