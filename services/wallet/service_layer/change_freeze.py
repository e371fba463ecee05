"""Freezing a wallet (interface v1.1): the person's insured province or the national operator freezes (or
unfreezes) a person. While frozen, their wallet receives and pays nothing, and their personal account sends
nothing: transfers from or to them, accepts, payments from their wallet and mutual-aid payments with a provider's
account (acct_used_flag 2, or a contribution paid for another) are refused WALLET_FROZEN (request_transfer.py,
answer_transfer.py, take_payment.py). Transfers waiting for or from them go back at once (reason
`frozen`). The quota stays where it is; what only returns money (an ended relationship's quota, a refund) still
moves. A freeze by the national operator is lifted only by it. The person's province and wallet.events.v1 are
told of each change; every request is kept in freeze_history.

Order of locks, as on every path a freeze stops: the people (lock_people), then transfer rows, then accounts."""

from __future__ import annotations

from typing import Literal

from services.wallet.domain import commands, events
from services.wallet.domain.ledger import personal_account_id, wallet_account_id
from services.wallet.domain.statements import FreezeRecord
from services.wallet.domain.transfers import ReturnReason
from services.wallet.service_layer.context import WalletContext
from services.wallet.service_layer.give_back import give_back
from shared.contracts import province as p
from shared.contracts.reasons import ReasonCode
from shared.contracts.topics import same_province
from shared.identity import redact_text
from shared.messaging.messages import Decision, Outgoing, published, to_province

NATIONAL, PROVINCE = "national", "province"


async def change_freeze(cmd: commands.ChangeFreeze, ctx: WalletContext) -> Decision:
    await ctx.members.lock_people(cmd.psn_no)
    person = await ctx.members.person(cmd.psn_no)
    authority = NATIONAL if ctx.caller.national else PROVINCE
    # first, and the same for a person never enrolled: a province learns nothing of people it does not insure
    if authority == PROVINCE and (person is None or not same_province(ctx.caller.sender, person.insuplc_admdvs)):
        return Decision.rejected(
            ReasonCode.NOT_A_PARTY, "a wallet is frozen by the person's insured province or the national operator"
        )
    if person is None:
        return Decision.rejected(ReasonCode.UNKNOWN_PERSON, "the person is not enrolled on the platform")
    now, reason = ctx.caller.now(), redact_text(cmd.reason)
    by = await ctx.members.frozen_by(cmd.psn_no)
    if not cmd.frozen and by == NATIONAL and authority == PROVINCE:
        return Decision.rejected(ReasonCode.NOT_A_PARTY, "frozen by the national operator: only it unfreezes")
    if cmd.frozen:  # frozen already by a province: the national operator's freeze takes over (only it lifts it)
        after: str | None = NATIONAL if NATIONAL in (by, authority) else PROVINCE
    else:
        after = None
    changed = (by is None) != (after is None)
    action: Literal["frozen", "unfrozen"] = "frozen" if cmd.frozen else "unfrozen"
    request = FreezeRecord(now, action, changed or after != by, reason, ctx.caller.sender)
    await ctx.members.record_freeze(cmd.psn_no, request, cmd.msgid, after)
    if not changed:
        return Decision.completed()  # frozen (or not) already: nobody is told again
    messages: list[Outgoing] = []
    if cmd.frozen:
        waiting = await ctx.transfers.pending_of(cmd.psn_no)
        parties = {cmd.psn_no} | {t.from_psn_no for t in waiting} | {t.to_psn_no for t in waiting}
        await ctx.ledger.lock(*(personal_account_id(x) for x in parties), *(wallet_account_id(x) for x in parties))
        for transfer in waiting:
            messages += await give_back(transfer, ReturnReason.FROZEN, ctx, now)
    kind, body = (
        ("wallet.frozen", p.WalletFrozen(psn_no=cmd.psn_no, reason=reason))
        if cmd.frozen
        else ("wallet.unfrozen", p.WalletUnfrozen(psn_no=cmd.psn_no, reason=reason))
    )
    happened = (events.FreezeRecorded if cmd.frozen else events.UnfreezeRecorded)(
        psn_no=cmd.psn_no, reason=reason, sender=ctx.caller.sender, occurred_at=now
    )
    return Decision.completed(
        [*messages, to_province(person.insuplc_admdvs, kind, body, cmd.psn_no), published(happened, cmd.psn_no)]
    )
