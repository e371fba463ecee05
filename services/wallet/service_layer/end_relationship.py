"""relationship.events.v1 says a relationship ended: its waiting transfers go back, and the recipient's unspent
quota from this provider returns to the provider's personal account.

Lock order, as on every path that creates, spends or returns quota, or freezes a person (ADR 0021): the two
people first (lock_people), then transfer rows, lots, accounts. An accept that is posting a lot holds the people's
locks, so the end waits for it and then finds its lot; an accept that comes after the end finds the transfer
returned; listing the lots before the people's locks would miss the lot an accept is making."""

from __future__ import annotations

from services.wallet.domain import commands
from services.wallet.domain.ledger import personal_account_id, wallet_account_id
from services.wallet.domain.transfers import RelationshipCopy, ReturnReason
from services.wallet.service_layer.context import WalletContext
from services.wallet.service_layer.give_back import give_back
from services.wallet.service_layer.return_quota import return_id_for, return_quota
from shared.messaging.messages import Outgoing


async def end_relationship(cmd: commands.EndRelationship, ctx: WalletContext) -> list[Outgoing]:
    now = ctx.caller.now()
    await ctx.members.lock_people(cmd.provider_psn_no, cmd.recipient_psn_no)
    lots = await ctx.members.lock_lots_of(cmd.relationship_id)  # before the copy: a refund waits, then sees the end
    copy = RelationshipCopy(
        cmd.relationship_id,
        cmd.provider_psn_no,
        cmd.recipient_psn_no,
        cmd.provider_admdvs,
        cmd.recipient_admdvs,
        cmd.version,
    )
    await ctx.members.relationship_ended(copy, now)
    messages: list[Outgoing] = []
    for transfer in await ctx.transfers.pending_of_relationship(cmd.relationship_id):
        messages += await give_back(transfer, ReturnReason.RELATIONSHIP_ENDED, ctx, now)
    if not cmd.was_established:
        return messages
    for lot in (x for x in lots if x.remaining > 0):
        wallet, personal = wallet_account_id(lot.wallet_psn_no), personal_account_id(lot.provider_psn_no)
        accounts = await ctx.ledger.lock(wallet, personal)
        messages += await return_quota(
            lot.lot_id,
            cmd.relationship_id,
            accounts[wallet],
            accounts[personal],
            lot.remaining,
            lot.funding_admdvs,
            return_id_for(lot.lot_id, cmd.relationship_id),
            f"return:{lot.lot_id}:{cmd.relationship_id}",
            (cmd.provider_admdvs, cmd.recipient_admdvs),
            ctx.ledger,
            now,
        )
        await ctx.members.empty_lot(lot.lot_id)
    return messages
