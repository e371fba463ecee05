"""Ingress messages the wallet service answers: translate each into a command, call its handler."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from decimal import Decimal

from services.wallet.domain import commands
from services.wallet.domain.transfers import TransferRequest
from services.wallet.entrypoints.unit_of_work import postgres_context
from services.wallet.service_layer.answer_transfer import answer_transfer
from services.wallet.service_layer.change_freeze import change_freeze
from services.wallet.service_layer.credit_account import credit_account
from services.wallet.service_layer.open_wallet import open_wallet
from services.wallet.service_layer.request_transfer import request_transfer
from services.wallet.service_layer.switch_region import set_region_wallet_status
from services.wallet.service_layer.wallet_statement import wallet_statement
from shared.caller import Caller
from shared.contracts import province as p
from shared.identity import certno_hash, name_hash
from shared.messaging.consumer import Handler, MessageContext
from shared.messaging.dispatch import Routes, TypedHandler
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
    async def on_account_credited(b: p.AccountCredited, caller: Caller, ctx: MessageContext) -> Decision:
        cmd = commands.CreditAccount(
            client_id=f"{caller.sender}:{caller.msgid}",
            psn_no=b.psn_no,
            admdvs=caller.sender,
            amount=b.amount,
            period=b.period,
            kind=b.kind,
        )
        return await credit_account(cmd, postgres_context(ctx.conn, caller, ctx.end), max_credit)

    async def on_region_wallet_status_changed(
        b: p.RegionWalletStatusChanged, caller: Caller, ctx: MessageContext
    ) -> Decision:
        cmd = commands.SetRegionWalletStatus(admdvs=b.admdvs, wallet_enabled=b.wallet_enabled)
        return await set_region_wallet_status(cmd, postgres_context(ctx.conn, caller, ctx.end))

    async def on_wallet_open_requested(b: p.WalletOpenRequested, caller: Caller, ctx: MessageContext) -> Decision:
        return await open_wallet(
            commands.OpenWallet(b.psn_no, b.usage_admdvs), postgres_context(ctx.conn, caller, ctx.end)
        )

    async def on_transfer_requested(b: p.TransferRequested, caller: Caller, ctx: MessageContext) -> Decision:
        req = TransferRequest(
            from_psn_no=b.from_psn_no,
            to_psn_no=b.to_psn_no,
            to_certno_hash=certno_hash(b.to_certno, identity_key),
            to_name_hash=name_hash(b.to_name, identity_key),
            amount=b.amount,
            verified=b.verified,
        )
        cmd = commands.RequestTransfer(
            transfer_id=transfer_id_for(caller.sender, caller.msgid, identity_key),
            client_id=f"{caller.sender}:{caller.msgid}",
            request=req,
        )
        return await request_transfer(cmd, postgres_context(ctx.conn, caller, ctx.end))

    def on_transfer_answer(accepting: bool) -> TypedHandler[p.TransferAccepted | p.TransferDeclined]:
        async def handle(b: p.TransferAccepted | p.TransferDeclined, caller: Caller, ctx: MessageContext) -> Decision:
            cmd = commands.AnswerTransfer(transfer_id=b.transfer_id, psn_no=b.psn_no, accepting=accepting)
            return await answer_transfer(cmd, postgres_context(ctx.conn, caller, ctx.end))

        return handle

    def on_freeze(frozen: bool) -> TypedHandler[p.WalletFreezeRequested | p.WalletUnfreezeRequested]:
        async def handle(
            b: p.WalletFreezeRequested | p.WalletUnfreezeRequested, caller: Caller, ctx: MessageContext
        ) -> Decision:
            cmd = commands.ChangeFreeze(psn_no=b.psn_no, frozen=frozen, reason=b.reason, msgid=caller.msgid)
            return await change_freeze(cmd, postgres_context(ctx.conn, caller, ctx.end))

        return handle

    async def on_statement_requested(b: p.WalletStatementRequested, caller: Caller, ctx: MessageContext) -> Decision:
        return await wallet_statement(commands.RequestStatement(b), postgres_context(ctx.conn, caller, ctx.end))

    routes = Routes(trusted=trusted, national_operators=national_operators)
    routes.on(p.AccountCredited, on_account_credited)
    routes.on(p.RegionWalletStatusChanged, on_region_wallet_status_changed)
    routes.on(p.WalletOpenRequested, on_wallet_open_requested)
    routes.on(p.TransferRequested, on_transfer_requested)
    routes.on(p.TransferAccepted, on_transfer_answer(accepting=True))
    routes.on(p.TransferDeclined, on_transfer_answer(accepting=False))
    routes.on(p.WalletFreezeRequested, on_freeze(frozen=True))
    routes.on(p.WalletUnfreezeRequested, on_freeze(frozen=False))
    routes.on(p.WalletStatementRequested, on_statement_requested)
    return routes.handlers()
