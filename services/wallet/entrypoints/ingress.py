"""Ingress messages the wallet service answers: translate each into a command, call its handler."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from decimal import Decimal
from typing import Any

from services.wallet.domain import commands
from services.wallet.domain.transfers import TransferRequest
from services.wallet.entrypoints.unit_of_work import postgres_context
from services.wallet.service_layer.answer_transfer import answer_transfer
from services.wallet.service_layer.change_freeze import change_freeze
from services.wallet.service_layer.context import WalletContext
from services.wallet.service_layer.credit_account import credit_account
from services.wallet.service_layer.open_wallet import open_wallet
from services.wallet.service_layer.request_transfer import request_transfer
from services.wallet.service_layer.switch_region import set_region_wallet_status
from services.wallet.service_layer.wallet_statement import wallet_statement
from shared.caller import Caller
from shared.contracts import province as p
from shared.contracts.envelope import Envelope
from shared.identity import certno_hash, name_hash
from shared.messaging.consumer import Handler, MessageContext
from shared.messaging.messages import Decision


def transfer_id_for(sender: str, msgid: str, key: bytes) -> str:
    """Deterministic (a retried handler names the same transfer) yet unguessable without the platform key."""
    digest = hmac.new(key, f"transfer:{sender}:{msgid}".encode(), hashlib.sha256).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def make_handlers(
    identity_key: bytes,
    trusted: frozenset[str] = frozenset(),
    max_credit: Decimal = Decimal("100000.00"),
    national_operators: frozenset[str] = frozenset(),
) -> dict[str, Handler]:
    def context(ctx: MessageContext, env: Envelope[Any]) -> WalletContext:
        """The use case's unit of work, acting for the sender whose signature the consumer verified."""
        return postgres_context(ctx.conn, Caller(ctx.clock, env.sender, env.msgid, trusted, national_operators))

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
        return await credit_account(cmd, context(ctx, env), max_credit)

    async def on_region_wallet_status_changed(ctx: MessageContext, env: Envelope[Any]) -> Decision:
        body: p.RegionWalletStatusChanged = env.body
        cmd = commands.SetRegionWalletStatus(admdvs=body.admdvs, wallet_enabled=body.wallet_enabled)
        return await set_region_wallet_status(cmd, context(ctx, env))

    async def on_wallet_open_requested(ctx: MessageContext, env: Envelope[Any]) -> Decision:
        b: p.WalletOpenRequested = env.body
        return await open_wallet(commands.OpenWallet(b.psn_no, b.usage_admdvs), context(ctx, env))

    async def on_transfer_requested(ctx: MessageContext, env: Envelope[Any]) -> Decision:
        b: p.TransferRequested = env.body
        req = TransferRequest(
            from_psn_no=b.from_psn_no,
            to_psn_no=b.to_psn_no,
            to_certno_hash=certno_hash(b.to_certno, identity_key),
            to_name_hash=name_hash(b.to_name, identity_key),
            amount=b.amount,
            verified=b.verified,
        )
        cmd = commands.RequestTransfer(
            transfer_id=transfer_id_for(env.sender, env.msgid, identity_key),
            client_id=f"{env.sender}:{env.msgid}",
            request=req,
        )
        return await request_transfer(cmd, context(ctx, env))

    def on_transfer_answer(accepting: bool) -> Handler:
        async def handle(ctx: MessageContext, env: Envelope[Any]) -> Decision:
            b: p.TransferAccepted | p.TransferDeclined = env.body
            cmd = commands.AnswerTransfer(transfer_id=b.transfer_id, psn_no=b.psn_no, accepting=accepting)
            return await answer_transfer(cmd, context(ctx, env))

        return handle

    def on_freeze(frozen: bool) -> Handler:
        async def handle(ctx: MessageContext, env: Envelope[Any]) -> Decision:
            b: p.WalletFreezeRequested | p.WalletUnfreezeRequested = env.body
            cmd = commands.ChangeFreeze(psn_no=b.psn_no, frozen=frozen, reason=b.reason, msgid=env.msgid)
            return await change_freeze(cmd, context(ctx, env))

        return handle

    async def on_statement_requested(ctx: MessageContext, env: Envelope[Any]) -> Decision:
        return await wallet_statement(commands.RequestStatement(env.body), context(ctx, env))

    return {
        "account.credited": on_account_credited,
        "region.wallet-status-changed": on_region_wallet_status_changed,
        "wallet.open-requested": on_wallet_open_requested,
        "transfer.requested": on_transfer_requested,
        "transfer.accepted": on_transfer_answer(accepting=True),
        "transfer.declined": on_transfer_answer(accepting=False),
        "wallet.freeze-requested": on_freeze(frozen=True),
        "wallet.unfreeze-requested": on_freeze(frozen=False),
        "wallet.statement-requested": on_statement_requested,
    }
