"""Ingress messages the wallet service answers: translate each into a command, call its handler."""

from __future__ import annotations

from typing import Any

from services.wallet import handlers
from services.wallet.adapters.ledger_repository import LedgerRepository
from services.wallet.domain import commands
from shared.contracts import province as p
from shared.contracts.envelope import Envelope
from shared.messaging.consumer import Decision, Handler, MessageContext


async def on_account_credited(ctx: MessageContext, env: Envelope[Any]) -> Decision:
    body: p.AccountCredited = env.body
    cmd = commands.CreditAccount(
        client_id=f"{env.sender}:{env.msgid}",
        psn_no=body.psn_no,
        admdvs=env.sender,
        amount=body.amount,
        period=body.period,
        kind=body.kind,
    )
    return await handlers.credit_account(cmd, LedgerRepository(ctx.conn), ctx.clock)


async def on_region_wallet_status_changed(ctx: MessageContext, env: Envelope[Any]) -> Decision:
    body: p.RegionWalletStatusChanged = env.body
    cmd = commands.SetRegionWalletStatus(admdvs=body.admdvs, wallet_enabled=body.wallet_enabled)
    return await handlers.set_region_wallet_status(cmd, LedgerRepository(ctx.conn), ctx.clock)


HANDLERS: dict[str, Handler] = {
    "account.credited": on_account_credited,
    "region.wallet-status-changed": on_region_wallet_status_changed,
}
