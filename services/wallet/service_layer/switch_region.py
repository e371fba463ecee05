"""A province switches the wallet function of one of its regions on or off."""

from __future__ import annotations

from services.wallet.domain import commands, events
from services.wallet.service_layer.context import WalletContext
from shared.contracts.reasons import ReasonCode
from shared.contracts.topics import same_province
from shared.messaging.messages import Decision, published


async def set_region_wallet_status(cmd: commands.SetRegionWalletStatus, ctx: WalletContext) -> Decision:
    if not same_province(ctx.caller.sender, cmd.admdvs):  # a region's wallet switch is its own province's
        return Decision.rejected(
            ReasonCode.SENDER_NOT_ALLOWED,
            f"the wallet of {cmd.admdvs} is switched by its own province, not {ctx.caller.sender}",
        )
    if not await ctx.members.set_region_wallet_status(cmd.admdvs, cmd.wallet_enabled):
        return Decision.completed()
    changed = events.RegionWalletStatusRecorded(
        admdvs=cmd.admdvs, wallet_enabled=cmd.wallet_enabled, occurred_at=ctx.caller.now()
    )
    return Decision.completed([published(changed, cmd.admdvs)])
