"""A province records a person's enrolment (`enrollment.changed`): the platform's copy changes, unless the change
arrived late (older than the one recorded); either way the relationships it ends, end."""

from __future__ import annotations

from services.relationship.domain import commands
from services.relationship.domain.people import enrolment_changed, may_record, supersedes
from services.relationship.domain.relationships import EndReason, ends_on_enrolment_change, ends_on_late_change
from services.relationship.service_layer.context import RelationshipContext
from services.relationship.service_layer.ending import end
from shared.contracts.reasons import ReasonCode
from shared.messaging.messages import Decision, Outgoing, published


async def record_enrolment(cmd: commands.RecordEnrolment, ctx: RelationshipContext) -> Decision:
    person, max_ahead = cmd.person, ctx.enrolment_max_ahead
    if person.effective_at > ctx.caller.now() + max_ahead:
        return Decision.rejected(
            ReasonCode.EFFECTIVE_AT_OUT_OF_RANGE,
            f"effective_at {person.effective_at.isoformat()} is more than {max_ahead.days} days ahead",
        )
    current = await ctx.people.get_for_update(person.psn_no)
    if (why := may_record(ctx.caller.sender, person, current)) is not None:
        return Decision.rejected(ReasonCode.SENDER_NOT_ALLOWED, why)
    messages: list[Outgoing] = []
    late = not supersedes(person, current)
    if not late:
        version = await ctx.people.save(person, cmd.change_reason)
        messages.append(published(enrolment_changed(person, version, cmd.change_reason), person.psn_no))
    for rel in await ctx.relationships.active_of(person.psn_no):
        if late:
            assert current is not None  # late means older than what is recorded
            ends = ends_on_late_change(rel, person, cmd.change_reason, current)
        else:
            ends = ends_on_enrolment_change(rel, person, cmd.change_reason)
        if ends:
            detail = f"{person.psn_no}: {cmd.change_reason}, status {person.psn_insu_stas}, insutype {person.insutype}"
            messages += await end(rel, EndReason.INSURANCE_CHANGED, detail, ctx)
    return Decision.completed(messages)
