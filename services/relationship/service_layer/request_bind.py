"""The provider's province asks to bind a close relative (`relationship.bind-requested`): the kinship, the sender,
both people's eligibility, the recipient's identity and both regions' policies are checked in that order;
then the bind request waits for the recipient's consent."""

from __future__ import annotations

from datetime import timedelta

from services.relationship.domain import commands
from services.relationship.domain.relationships import (
    Refusal,
    Relationship,
    check_eligibility,
    check_identity,
    check_kinship,
    check_policy,
)
from services.relationship.service_layer.answering import refused
from services.relationship.service_layer.context import RelationshipContext
from shared.contracts.policy import effective_policy
from shared.contracts.reasons import ReasonCode
from shared.messaging.messages import Decision, published


async def request_bind(cmd: commands.RequestBind, ctx: RelationshipContext) -> Decision:
    def refuse(refusal: Refusal) -> Decision:
        return refused(
            None, refusal, ctx, provider=cmd.provider_psn_no, recipient=cmd.recipient_psn_no, kinship=cmd.kinship
        )

    if refusal := check_kinship(cmd.provider_psn_no, cmd.recipient_psn_no, cmd.kinship):
        return refuse(refusal)
    people = await ctx.people.lock(cmd.provider_psn_no, cmd.recipient_psn_no)
    provider, recipient = people.get(cmd.provider_psn_no), people.get(cmd.recipient_psn_no)
    # before anything that says whether either person is enrolled or eligible; a provider never enrolled is nobody
    # an untrusted province may ask about (the same answer as for someone insured elsewhere)
    if not ctx.caller.may_ask_about(provider.insuplc_admdvs if provider else None):
        return refuse(Refusal(ReasonCode.NOT_A_PARTY, "a bind request comes from the provider's insured province"))
    if refusal := check_eligibility(provider, recipient):
        return refuse(refusal)
    assert provider is not None
    assert recipient is not None
    if refusal := check_identity(recipient, cmd.recipient_certno_hash, cmd.recipient_name_hash):
        return refuse(refusal)
    rows = await ctx.policies.rows(provider.insuplc_admdvs, recipient.insuplc_admdvs)
    provider_policy = effective_policy(provider.insuplc_admdvs, rows)
    recipient_policy = effective_policy(recipient.insuplc_admdvs, rows)
    standing = await ctx.relationships.standing(provider.psn_no, recipient.psn_no)
    if refusal := check_policy(cmd.kinship, standing, provider_policy, recipient_policy):
        return refuse(refusal)
    ttl = timedelta(seconds=provider_policy.bind_request_ttl_seconds)
    rel, requested = Relationship.request(cmd.relationship_id, provider, recipient, cmd.kinship, ttl, ctx.caller.now())
    await ctx.relationships.add(rel, ctx.caller.msgid)
    return Decision.accepted([published(requested, rel.provider_psn_no)], relationship_id=rel.relationship_id)
