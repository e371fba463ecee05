"""A member opens their wallet, for use in one region (asked by their insured province, or a trusted gateway: anyone
else is refused NOT_A_PARTY first, whether or not the person is enrolled)."""

from __future__ import annotations

from services.wallet.domain import commands, events
from services.wallet.domain.ledger import AccountKind, wallet_account_id
from services.wallet.service_layer.context import WalletContext
from shared.contracts.reasons import ReasonCode
from shared.messaging.messages import Decision, published


async def open_wallet(cmd: commands.OpenWallet, ctx: WalletContext) -> Decision:
    person = await ctx.members.person(cmd.psn_no)
    if not ctx.caller.may_ask_about(
        person.insuplc_admdvs if person else None
    ):  # first: nothing of the person to others
        return Decision.rejected(ReasonCode.NOT_A_PARTY, "a wallet is opened from the person's insured province")
    if person is None:
        return Decision.rejected(ReasonCode.UNKNOWN_PERSON, "the person is not enrolled on the platform")
    if not await ctx.members.region_enabled(cmd.usage_admdvs):
        return Decision.rejected(ReasonCode.REGION_NOT_ENABLED, "the usage region has no wallet function")
    now = ctx.caller.now()
    if not await ctx.members.open_wallet(cmd.psn_no, cmd.usage_admdvs, now):
        return Decision.completed()  # already open
    await ctx.ledger.ensure_account(wallet_account_id(cmd.psn_no), AccountKind.WALLET, cmd.usage_admdvs)
    opened = events.WalletOpened(psn_no=cmd.psn_no, usage_admdvs=cmd.usage_admdvs, occurred_at=now)
    return Decision.completed([published(opened, cmd.psn_no)])
