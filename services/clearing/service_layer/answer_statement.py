"""statement.confirmed / statement.disputed: a region answers its statement of a closed month, from its own
province (or a trusted national gateway)."""

from __future__ import annotations

from services.clearing.domain import commands
from services.clearing.service_layer.context import ClearingContext
from shared.contracts.reasons import ReasonCode
from shared.identity import redact_text
from shared.messaging.messages import Decision, published


async def answer_statement(
    cmd: commands.ConfirmStatement | commands.DisputeStatement, ctx: ClearingContext
) -> Decision:
    if not ctx.caller.speaks_for(cmd.admdvs):  # first: whether a region has a statement is its own province's to know
        return Decision.rejected(ReasonCode.NOT_A_PARTY, "a statement is answered from its region's province")
    s = await ctx.statements.get_for_update(cmd.statement_id)
    if s is None or s.admdvs != cmd.admdvs:
        return Decision.rejected(
            ReasonCode.UNKNOWN_STATEMENT, f"no statement {cmd.statement_id} for region {cmd.admdvs}"
        )
    now = ctx.caller.now()
    if isinstance(cmd, commands.DisputeStatement):
        reason = redact_text(cmd.reason)  # free text a province typed: no ID number in clear past ingress
        answered = s.dispute(cmd.admdvs, reason, ctx.caller.sender, ctx.caller.msgid, now)
    else:
        answered = s.confirm(cmd.admdvs, ctx.caller.sender, ctx.caller.msgid, now)
    await ctx.statements.save(s)
    return Decision.completed([published(answered, s.period)], statement_id=s.statement_id)
