"""institution.upserted: a province registers (or changes) one of its designated institutions."""

from __future__ import annotations

from services.payment.domain import commands, events
from services.payment.service_layer.context import PaymentContext
from shared.contracts.reasons import ReasonCode
from shared.contracts.topics import same_province
from shared.messaging.messages import Decision, published


async def register_institution(cmd: commands.UpsertInstitution, ctx: PaymentContext) -> Decision:
    i = cmd.institution
    # An institution is its province's to register: only that province's system, and only one that also holds it
    # now may move it (no province creates, moves or disables another's institution).
    current = await ctx.institutions.admdvs_of(i.fixmedins_code)
    if not same_province(ctx.caller.sender, i.admdvs) or (
        current is not None and not same_province(ctx.caller.sender, current)
    ):
        where = current if current is not None and not same_province(ctx.caller.sender, current) else i.admdvs
        return Decision.rejected(
            ReasonCode.SENDER_NOT_ALLOWED,
            f"{i.fixmedins_code} is registered by the province of {where}, not {ctx.caller.sender}",
        )
    if not await ctx.institutions.upsert(i):
        return Decision.completed()
    registered = events.InstitutionRegistered(
        fixmedins_code=i.fixmedins_code,
        fixmedins_name=i.fixmedins_name,
        fixmedins_type=i.fixmedins_type,
        admdvs=i.admdvs,
        wallet_enabled=i.wallet_enabled,
        occurred_at=ctx.caller.now(),
    )
    return Decision.completed([published(registered, i.admdvs)])
