"""Ingress messages the wallet service answers: translate each into a command, call its handler."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from decimal import Decimal
from typing import Any

from services.wallet import freezes, handlers, statements, transfers
from services.wallet.adapters.ledger_repository import LedgerRepository
from services.wallet.adapters.statement_repository import StatementRepository
from services.wallet.adapters.wallet_repository import WalletRepository
from services.wallet.domain import commands
from services.wallet.domain.transfers import TransferRequest
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
        return await handlers.credit_account(
            cmd, LedgerRepository(ctx.conn), WalletRepository(ctx.conn), ctx.clock, max_credit
        )

    async def on_region_wallet_status_changed(ctx: MessageContext, env: Envelope[Any]) -> Decision:
        body: p.RegionWalletStatusChanged = env.body
        cmd = commands.SetRegionWalletStatus(admdvs=body.admdvs, wallet_enabled=body.wallet_enabled, sender=env.sender)
        return await handlers.set_region_wallet_status(cmd, LedgerRepository(ctx.conn), ctx.clock)

    async def on_wallet_open_requested(ctx: MessageContext, env: Envelope[Any]) -> Decision:
        b: p.WalletOpenRequested = env.body
        return await transfers.open_wallet(
            b.psn_no,
            b.usage_admdvs,
            env.sender,
            WalletRepository(ctx.conn),
            LedgerRepository(ctx.conn),
            ctx.clock,
            trusted,
        )

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
        return await transfers.request_transfer(
            transfer_id_for(env.sender, env.msgid, identity_key),
            f"{env.sender}:{env.msgid}",
            req,
            env.sender,
            WalletRepository(ctx.conn),
            LedgerRepository(ctx.conn),
            ctx.clock,
            trusted,
        )

    def on_transfer_answer(accepting: bool) -> Handler:
        async def handle(ctx: MessageContext, env: Envelope[Any]) -> Decision:
            b: p.TransferAccepted | p.TransferDeclined = env.body
            return await transfers.answer_transfer(
                accepting,
                b.transfer_id,
                b.psn_no,
                env.sender,
                WalletRepository(ctx.conn),
                LedgerRepository(ctx.conn),
                ctx.clock,
                trusted,
            )

        return handle

    def on_freeze(frozen: bool) -> Handler:
        async def handle(ctx: MessageContext, env: Envelope[Any]) -> Decision:
            b: p.WalletFreezeRequested | p.WalletUnfreezeRequested = env.body
            return await freezes.change_freeze(
                frozen,
                b.psn_no,
                b.reason,
                env.sender,
                env.msgid,
                WalletRepository(ctx.conn),
                LedgerRepository(ctx.conn),
                ctx.clock,
                national_operators,
            )

        return handle

    async def on_statement_requested(ctx: MessageContext, env: Envelope[Any]) -> Decision:
        return await statements.wallet_statement(
            env.body,
            env.msgid,
            env.sender,
            WalletRepository(ctx.conn),
            StatementRepository(ctx.conn),
            trusted,
            national_operators,
        )

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
