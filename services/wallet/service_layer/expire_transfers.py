"""The sweep: what nobody accepted by 06:00 the next day goes back to the provider (or, when the relationship
ended meanwhile, for that reason)."""

from __future__ import annotations

from services.wallet.domain import commands
from services.wallet.domain.ledger import personal_account_id, wallet_account_id
from services.wallet.domain.transfers import ReturnReason
from services.wallet.service_layer.context import WalletContext
from services.wallet.service_layer.give_back import give_back
from shared.messaging.messages import Outgoing


async def expire_transfers(cmd: commands.ExpireTransfers, ctx: WalletContext) -> list[Outgoing]:
    """All the accounts of the batch are locked first, in one order, so two sweeps never wait in a cycle."""
    now = ctx.caller.now()
    overdue = await ctx.transfers.pending_past(now, cmd.limit)
    await ctx.ledger.lock(
        *{personal_account_id(t.from_psn_no) for t in overdue}, *{wallet_account_id(t.to_psn_no) for t in overdue}
    )
    messages: list[Outgoing] = []
    for transfer in overdue:
        ended = await ctx.members.established_relationship(transfer.from_psn_no, transfer.to_psn_no)
        reason = ReturnReason.EXPIRED if ended == transfer.relationship_id else ReturnReason.RELATIONSHIP_ENDED
        messages += await give_back(transfer, reason, ctx, now)
    return messages
