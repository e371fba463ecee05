"""What the payment service follows on wallet.events.v1: the wallet's answers to the payments it asked for.
Read with the payment service's own tolerant models."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from services.payment.domain import commands
from services.payment.domain.settlements import Debited, Portion
from services.payment.entrypoints.unit_of_work import postgres_context
from services.payment.service_layer.give_up_on_wallet_answer import give_up_on_wallet_answer
from services.payment.service_layer.record_debit import record_debit
from services.payment.service_layer.record_refund import record_refund
from services.payment.service_layer.record_refusal import record_refusal
from services.payment.service_layer.record_region import record_region
from shared.caller import Caller
from shared.messaging.consumer import EventHandler, FailureHandler, MessageContext
from shared.messaging.dispatch import EventRoutes, TypedEventHandler
from shared.messaging.messages import Outgoing


class _Seen(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class PortionSeen(_Seen):
    seq: int
    source: str
    payer_psn_no: str
    lot_id: str | None = None
    funding_admdvs: str
    spending_admdvs: str
    amount: Decimal


class DebitedSeen(_Seen):
    setl_id: str
    portions: list[PortionSeen]
    wallet_pay: Decimal
    acct_pay: Decimal
    acct_mulaid_pay: Decimal
    balc: Decimal
    wallet_balc: Decimal


class RefusedSeen(_Seen):
    setl_id: str
    reason_code: str
    reason: str


class RefundedSeen(_Seen):
    setl_id: str


class RegionSeen(_Seen):
    admdvs: str
    wallet_enabled: bool


async def on_region(b: RegionSeen, caller: Caller, ctx: MessageContext) -> list[Outgoing]:
    """The payment service's copy of the regions' wallet status, for registry listings."""
    return await record_region(commands.RecordRegion(b.admdvs, b.wallet_enabled), postgres_context(ctx.conn, caller))


async def on_debited(b: DebitedSeen, caller: Caller, ctx: MessageContext) -> list[Outgoing]:
    debited = Debited(
        acct_pay=b.acct_pay,
        acct_mulaid_pay=b.acct_mulaid_pay,
        wallet_pay=b.wallet_pay,
        balc=b.balc,
        wallet_balc=b.wallet_balc,
        portions=tuple(Portion(**x.model_dump()) for x in b.portions),
    )
    return await record_debit(commands.RecordDebit(b.setl_id, debited), postgres_context(ctx.conn, caller))


async def on_refused(b: RefusedSeen, caller: Caller, ctx: MessageContext) -> list[Outgoing]:
    cmd = commands.RecordRefusal(b.setl_id, b.reason_code, b.reason)
    return await record_refusal(cmd, postgres_context(ctx.conn, caller))


async def on_refunded(b: RefundedSeen, caller: Caller, ctx: MessageContext) -> list[Outgoing]:
    return await record_refund(commands.RecordRefund(b.setl_id), postgres_context(ctx.conn, caller))


class SettlementIdentitySeen(_Seen):
    """What answering a settlement needs, read even when the rest of the wallet's answer cannot be."""

    setl_id: str


def _failed(money_taken: bool) -> TypedEventHandler[SettlementIdentitySeen]:
    async def handle(b: SettlementIdentitySeen, caller: Caller, ctx: MessageContext) -> list[Outgoing]:
        cmd = commands.GiveUpOnWalletAnswer(b.setl_id, money_taken)
        return await give_up_on_wallet_answer(cmd, postgres_context(ctx.conn, caller))

    return handle


ROUTES = EventRoutes()
ROUTES.on("wallet.payment-debited", DebitedSeen, on_debited)
ROUTES.on("wallet.payment-refused", RefusedSeen, on_refused)
ROUTES.on("wallet.payment-refunded", RefundedSeen, on_refunded)
ROUTES.on("wallet.region-wallet-status-changed", RegionSeen, on_region)
ROUTES.on_failure("wallet.payment-debited", SettlementIdentitySeen, _failed(money_taken=True))
ROUTES.on_failure("wallet.payment-refused", SettlementIdentitySeen, _failed(money_taken=False))
HANDLERS: dict[str, EventHandler] = ROUTES.handlers()
FAILURE_HANDLERS: dict[str, FailureHandler] = ROUTES.failure_handlers()
