"""An operator sets a yearly personal contribution standard (make settlements ARGS="standards set ..."): checked,
then it applies to the next contribution.requested (docs/adr/0022)."""

from __future__ import annotations

from services.payment.domain import commands
from services.payment.domain.contributions import Standard, new_standard
from services.payment.service_layer.context import PaymentContext


async def set_contribution_standard(cmd: commands.SetContributionStandard, ctx: PaymentContext) -> Standard:
    """The standard as stored; StandardError when it cannot be."""
    standard = new_standard(cmd.admdvs, cmd.insutype, cmd.year, cmd.amount, cmd.source)
    await ctx.standards.set(standard)
    return standard
