"""What the wallet follows on payment.events.v1: payments to take and to give back. Read with the wallet's
own tolerant models (only the fields it needs)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from services.wallet.domain import commands
from services.wallet.domain.payments import PaymentOrder, Purpose
from services.wallet.entrypoints.unit_of_work import postgres_context
from services.wallet.service_layer.refund_payment import refund_payment
from services.wallet.service_layer.refuse_failed_payment import refuse_failed_payment
from services.wallet.service_layer.take_payment import take_payment
from shared.caller import Caller
from shared.messaging.consumer import EventHandler, FailureHandler, MessageContext
from shared.messaging.dispatch import EventRoutes
from shared.messaging.messages import Outgoing


class PaymentOpenedSeen(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    setl_id: str
    purpose: Purpose
    psn_no: str
    payer_psn_no: str | None = None
    spending_admdvs: str | None = None
    amount: Decimal
    use_wallet: bool
    acct_used_flag: str
    sender: str = "000000"  # the region code of the system that asked the payment service


class RefundRequestedSeen(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    setl_id: str


def _order(b: PaymentOpenedSeen) -> PaymentOrder:
    return PaymentOrder(
        b.setl_id,
        b.purpose,
        b.psn_no,
        b.payer_psn_no,
        b.spending_admdvs,
        b.amount,
        b.use_wallet,
        b.acct_used_flag,
    )


class PaymentIdentitySeen(BaseModel):
    """What refusing a payment needs, read even when the rest of the event cannot be."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    setl_id: str
    purpose: str
    psn_no: str


async def on_opened_failed(b: PaymentIdentitySeen, caller: Caller, ctx: MessageContext) -> list[Outgoing]:
    cmd = commands.RefuseFailedPayment(b.setl_id, b.purpose, b.psn_no)
    return await refuse_failed_payment(cmd, postgres_context(ctx.conn, caller, ctx.end))


FAILURES = EventRoutes()
FAILURES.on_failure("payment.payment-opened", PaymentIdentitySeen, on_opened_failed)
FAILURE_HANDLERS: dict[str, FailureHandler] = FAILURES.failure_handlers()


def make_handlers(trusted: frozenset[str] = frozenset()) -> dict[str, EventHandler]:
    async def on_opened(b: PaymentOpenedSeen, caller: Caller, ctx: MessageContext) -> list[Outgoing]:
        # The context acts for the province that asked the payment service (a contribution is its own to ask).
        asker = Caller(caller.clock, b.sender, trusted=trusted)
        return await take_payment(commands.TakePayment(_order(b)), postgres_context(ctx.conn, asker, ctx.end))

    async def on_refund_requested(b: RefundRequestedSeen, caller: Caller, ctx: MessageContext) -> list[Outgoing]:
        return await refund_payment(commands.RefundPayment(b.setl_id), postgres_context(ctx.conn, caller, ctx.end))

    routes = EventRoutes()
    routes.on("payment.payment-opened", PaymentOpenedSeen, on_opened)
    routes.on("payment.refund-requested", RefundRequestedSeen, on_refund_requested)
    return routes.handlers()
